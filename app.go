package caddyvipps

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

func init() {
	caddy.RegisterModule(App{})
}

// App is the vipps app. It owns the shops: each shop's order database,
// Vipps client, poller, outbox, webhook registration and, in the
// simulator, the simulator. Shops are started in Start and stopped in Stop,
// after every goroutine they started has returned, the way Caddy's pki app
// owns its certificate authorities; provisioning (which caddy validate and
// caddy adapt do too) opens nothing, binds nothing and calls no one.
//
// Shops are defined here by name, or declared by a vipps handler block that
// carries the shop's options itself (the one-block form, shop "default"
// unless it names one). Any number of sites serve a shop by naming it
// (apex and www, say). Each shop keeps its data apart and refuses a
// database that belongs to another sales unit or currency.
type App struct {
	// Shops defines shops by name: 1 to 32 lower-case letters, digits, '-'
	// or '_'. The name also names the shop's directory.
	Shops map[string]*ShopConfig `json:"shops,omitempty"`

	ctx      caddy.Context
	logger   *zap.Logger
	observer *observer
	shops    *registry
}

// registry holds the app's shops; handlers add to it while the config is
// provisioned.
type registry struct {
	mu      sync.Mutex
	entries map[string]*shopEntry
}

// shopEntry is one shop of the app: its spec, and once started its
// runtime.
type shopEntry struct {
	name string
	// spec is nil while the shop is only referred to, not defined.
	spec     *shopSpec
	declared ShopConfig
	fromApp  bool
	// mounted are the handlers that serve the shop, for deriving its
	// public URL.
	mounted []*Handler

	runtime atomic.Pointer[shopRuntime]
	// started is closed once Start has dealt with the shop.
	started chan struct{}
	once    sync.Once
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "vipps",
		New: func() caddy.Module { return new(App) },
	}
}

// Provision checks and prepares the shops defined in the app: defaults,
// secrets from {env.*} and {file.*}, catalogs. Nothing is opened.
func (a *App) Provision(ctx caddy.Context) error {
	a.ctx = ctx
	a.logger = ctx.Logger()
	a.observer = newObserver(ctx, a.logger, registerMetrics(ctx.GetMetricsRegistry(), a.logger))
	a.shops = &registry{entries: map[string]*shopEntry{}}
	for _, name := range slices.Sorted(maps.Keys(a.Shops)) {
		cfg := a.Shops[name]
		if cfg == nil {
			return fmt.Errorf("shop %q: no configuration", name)
		}
		if _, err := a.declare(name, *cfg, true); err != nil {
			return err
		}
	}
	return nil
}

// declare adds a shop defined by the app or by a handler block. A second
// declaration of the same shop must say exactly the same.
func (a *App) declare(name string, cfg ShopConfig, fromApp bool) (*shopEntry, error) {
	a.shops.mu.Lock()
	defer a.shops.mu.Unlock()
	e := a.entryLocked(name)
	if e.spec != nil {
		if e.fromApp && !fromApp {
			return nil, fmt.Errorf("shop %q is defined in the global vipps options; a vipps block that serves it names it (vipps %s) and carries no options of its own", name, name)
		}
		if !e.declared.sameAs(cfg) {
			return nil, fmt.Errorf("two vipps blocks declare shop %q differently: give each its own name (a 'shop <name>' line in the block), or define the shop once in the global vipps options and name it in each site", name)
		}
		return e, nil
	}
	spec, err := cfg.prepare(name)
	if err != nil {
		return nil, fmt.Errorf("shop %q: %w", name, err)
	}
	if spec.engine, err = a.loadEngine(cfg); err != nil {
		return nil, fmt.Errorf("shop %q: %w", name, err)
	}
	for _, other := range a.shops.entries {
		if other == e || other.spec == nil {
			continue
		}
		if other.spec.engine.identity(other.spec) == spec.engine.identity(spec) {
			return nil, fmt.Errorf("shops %q and %q would keep their orders in one database: give each %s", other.name, name, spec.engine.separate())
		}
		if other.spec.dataDir == spec.dataDir {
			return nil, fmt.Errorf("shops %q and %q both use %s: give each its own data_dir", other.name, name, spec.dataDir)
		}
	}
	e.spec, e.declared, e.fromApp = spec, cfg, fromApp
	return e, nil
}

// loadEngine loads a shop's store module (Badger when none is given).
func (a *App) loadEngine(cfg ShopConfig) (StoreEngine, error) {
	if len(cfg.StoreRaw) == 0 {
		return new(BadgerEngine), nil
	}
	mod, err := a.ctx.LoadModule(&cfg, "StoreRaw")
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	engine, ok := mod.(StoreEngine)
	if !ok {
		return nil, fmt.Errorf("store: %T is not a store engine", mod)
	}
	return engine, nil
}

// refer returns the entry of a shop a handler serves, defined or not yet.
func (a *App) refer(name string) *shopEntry {
	a.shops.mu.Lock()
	defer a.shops.mu.Unlock()
	return a.entryLocked(name)
}

func (a *App) entryLocked(name string) *shopEntry {
	e, ok := a.shops.entries[name]
	if !ok {
		e = &shopEntry{name: name, started: make(chan struct{})}
		a.shops.entries[name] = e
	}
	return e
}

// mount records that a handler serves a shop.
func (a *App) mount(e *shopEntry, h *Handler) {
	a.shops.mu.Lock()
	defer a.shops.mu.Unlock()
	e.mounted = append(e.mounted, h)
}

// sortedEntries lists the shops by name.
func (a *App) sortedEntries() []*shopEntry {
	a.shops.mu.Lock()
	defer a.shops.mu.Unlock()
	out := make([]*shopEntry, 0, len(a.shops.entries))
	for _, e := range a.shops.entries {
		out = append(out, e)
	}
	slices.SortFunc(out, func(x, y *shopEntry) int {
		switch {
		case x.name < y.name:
			return -1
		case x.name > y.name:
			return 1
		}
		return 0
	})
	return out
}

// Start starts every shop: its simulator (in the simulator), its database
// (shared with the config it replaces, if any), its webhook registration,
// poller and outbox. If one shop cannot start, the ones started are stopped
// and the config is refused.
func (a *App) Start() error {
	entries := a.sortedEntries()
	webhooks := map[string]string{}
	publicURLs := map[string]string{}
	for _, e := range entries {
		if e.spec == nil {
			return fmt.Errorf("shop %q is served by a vipps handler but defined nowhere: define it in the global vipps options, or give one of its vipps blocks the shop's options", e.name)
		}
		pub := e.spec.cfg.PublicURL
		if e.spec.derivePublicURL {
			var found bool
			pub, found = a.derivePublicURL(e)
			if found {
				a.logger.Info("public_url derived from the site that serves the shop", zap.String("shop", e.name), zap.String("public_url", pub))
			} else {
				a.logger.Warn("no site serves the shop and it has no public_url; using http://localhost", zap.String("shop", e.name))
			}
		}
		hook := pub + e.spec.cfg.BasePath + "/webhook"
		if other, ok := webhooks[hook]; ok {
			return fmt.Errorf("shops %q and %q would both receive webhooks at %s: give them different public_url or base_path", other, e.name, hook)
		}
		webhooks[hook], publicURLs[e.name] = e.name, pub
	}
	var started []*shopEntry
	for _, e := range entries {
		rt, err := startShop(e.spec, publicURLs[e.name], a.logger.With(zap.String("shop", e.name)), a.observer)
		if err != nil {
			for _, s := range started {
				s.stop()
			}
			return err
		}
		e.runtime.Store(rt)
		e.once.Do(func() { close(e.started) })
		started = append(started, e)
	}
	return nil
}

// Stop ends every shop's background work and waits for it. The shops go
// on answering requests: Caddy stops its apps in no fixed order, so the
// HTTP servers of this config may still be finishing requests (and, while
// a reload hands over the listeners, taking new ones). Cleanup releases the
// databases once those servers are done.
func (a *App) Stop() error {
	for _, e := range a.sortedEntries() {
		if rt := e.runtime.Load(); rt != nil {
			rt.stopBackground()
		}
	}
	return nil
}

// stop takes the shop's runtime out of service and releases it.
func (e *shopEntry) stop() {
	if rt := e.runtime.Swap(nil); rt != nil {
		rt.finish()
	}
}

// Cleanup runs after every app of the config has stopped: it releases each
// shop's database and simulator (closed when no newer config holds them)
// and ends waits for shops that never started (a config that was only
// validated, or failed to start).
func (a *App) Cleanup() error {
	for _, e := range a.sortedEntries() {
		e.once.Do(func() { close(e.started) })
		e.stop()
	}
	return nil
}

// errNotStarted answers requests to a shop whose config did not start.
var errNotStarted = errors.New("the shop is not running")

// Interface guards
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
