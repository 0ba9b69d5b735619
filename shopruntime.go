package caddyvipps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/handlers"
	"github.com/caddy-vipps/caddy-vipps/shop"
	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

// shopRuntime is a started shop: its order database, Vipps client,
// payment flow, endpoints and background work (webhook registration,
// poller, outbox). The app starts it in Start, stops its background work
// in Stop and releases its database in Cleanup, once the HTTP servers of the
// config are done with it.
type shopRuntime struct {
	spec      *shopSpec
	publicURL string
	log       *zap.Logger

	store        state.Store
	releaseStore func()
	simKey       string
	svc          *shop.Service
	http         *handlers.Handler

	cancel context.CancelFunc
	bg     sync.WaitGroup

	// requests counts requests in flight, so that finish lets them end
	// before the database may close.
	mu       sync.Mutex
	stopping bool
	requests sync.WaitGroup
}

// requestDrain is how long a stopping shop lets requests in flight finish.
const requestDrain = 5 * time.Second

// identityMetaKey holds what a shop's database belongs to.
const identityMetaKey = "shop-identity"

// shopIdentity is what a database belongs to: orders of one sales unit in
// one currency.
type shopIdentity struct {
	Environment string `json:"environment"`
	MSN         string `json:"merchant_serial_number"`
	Currency    string `json:"currency"`
}

// startShop opens the shop's database (shared with the config it replaces),
// starts its simulator if it has one, and its background work.
func startShop(spec *shopSpec, publicURL string, log *zap.Logger, obs *observer) (_ *shopRuntime, err error) {
	rt := &shopRuntime{spec: spec, publicURL: publicURL, log: log}
	defer func() {
		if err != nil {
			rt.release()
		}
	}()
	c := spec.cfg
	baseURL := spec.apiBaseURL()
	if c.Environment == EnvSimulator {
		var creds *sim.Credentials
		if c.SimulatorPublic {
			creds = &sim.Credentials{ClientID: spec.clientID, ClientSecret: spec.clientSecret, SubscriptionKey: spec.subscriptionKey}
		}
		key, base, err := acquireSimulator(c.SimulatorListen, filepath.Join(spec.dataDir, "simulator"), publicURL, creds, log)
		if err != nil {
			return nil, err
		}
		rt.simKey, baseURL = key, base
	}
	if rt.store, rt.releaseStore, err = spec.engine.open(spec, log); err != nil {
		return nil, err
	}
	if err := rt.checkIdentity(); err != nil {
		return nil, err
	}
	client, err := vipps.New(vipps.Config{
		BaseURL:              baseURL,
		ClientID:             spec.clientID,
		ClientSecret:         spec.clientSecret,
		SubscriptionKey:      spec.subscriptionKey,
		MerchantSerialNumber: spec.msn,
		SystemName:           "caddy",
		SystemVersion:        caddyVersion(),
		PluginName:           "caddy-vipps",
		PluginVersion:        Version,
		HTTPClient:           vipps.DefaultHTTPClient(),
		Observe:              obs.VippsExchange,
	})
	if err != nil {
		return nil, fmt.Errorf("vipps client: %w", err)
	}
	rt.svc, err = shop.New(shop.Config{
		PublicURL:            publicURL,
		BasePath:             c.BasePath,
		ReferencePrefix:      c.ReferencePrefix,
		PaymentDescription:   c.PaymentDescription,
		PollInterval:         time.Duration(c.PollInterval),
		MerchantSerialNumber: spec.msn,
		BuyerRetention:       time.Duration(c.BuyerRetention),
		AbandonedRetention:   time.Duration(*c.AbandonedRetention),
		Collect:              spec.collect,
		CallTimeout:          time.Duration(c.Timeout),
		NotifyURL:            c.NotifyURL,
		NotifySecret:         spec.notifySecret,
	}, spec.catalog, rt.store, client, log, obs)
	if err != nil {
		return nil, err
	}
	pub, _ := url.Parse(publicURL)
	rt.http = handlers.New(rt.svc, handlers.Config{
		RequestID:     caddyRequestID,
		BasePath:      c.BasePath,
		PublicURL:     publicURL,
		MaxBodySize:   c.MaxBodySize,
		AdminToken:    spec.adminToken,
		SuccessURL:    c.SuccessURL,
		CancelURL:     c.CancelURL,
		ShopURL:       c.ShopURL,
		Language:      c.Language,
		Brand:         handlers.BrandFor(c.Brand, c.Currency),
		ShopName:      c.ShopName,
		LogoURL:       spec.logoURL(),
		Logo:          spec.logo,
		LogoType:      spec.logoType,
		SecureCookies: pub.Scheme == "https",
		LinkPush:      c.LinkPush,
		PayOrigin:     httpOrigin(baseURL),
		Logger:        log,
		Observer:      obs,
	})
	bg, cancel := context.WithCancel(context.Background())
	rt.cancel = cancel
	for _, run := range []func(context.Context){rt.svc.KeepWebhookRegistered, rt.svc.RunPoller, rt.svc.RunWorker, rt.svc.RunHousekeeping} {
		rt.bg.Add(1)
		go func() {
			defer rt.bg.Done()
			run(bg)
		}()
	}
	log.Info("vipps shop started",
		zap.String("environment", c.Environment),
		zap.String("base_path", c.BasePath),
		zap.String("public_url", publicURL),
		zap.Int("products", spec.catalog.Len()),
		zap.String("store", spec.engine.identity(spec)))
	return rt, nil
}

// checkIdentity refuses a database that belongs to another sales unit or
// currency: mixing them would mix orders, currencies and webhooks.
func (rt *shopRuntime) checkIdentity() error {
	want := shopIdentity{Environment: rt.spec.cfg.Environment, MSN: rt.spec.msn, Currency: rt.spec.cfg.Currency}
	raw, err := rt.store.GetMeta(identityMetaKey)
	if errors.Is(err, state.ErrNotFound) {
		b, _ := json.Marshal(want)
		return rt.store.PutMeta(identityMetaKey, b)
	}
	if err != nil {
		return fmt.Errorf("reading the shop's identity: %w", err)
	}
	var have shopIdentity
	if err := json.Unmarshal(raw, &have); err != nil {
		return fmt.Errorf("reading the shop's identity: %w", err)
	}
	if have != want {
		return fmt.Errorf("shop %q: the order database in %s belongs to a shop in %s selling in %s for MSN %s, but this config sells in %s for MSN %s in %s; "+
			"give this shop %s (or move the old one aside): one database must not mix sales units or currencies",
			rt.spec.name, rt.spec.engine.identity(rt.spec), have.Environment, have.Currency, have.MSN, want.Currency, want.MSN, want.Environment,
			rt.spec.engine.separate())
	}
	return nil
}

// enter admits a request, unless the shop is stopping.
func (rt *shopRuntime) enter() bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.stopping {
		return false
	}
	rt.requests.Add(1)
	return true
}

func (rt *shopRuntime) leave() { rt.requests.Done() }

// stopBackground ends the background work (webhook registration, poller,
// outbox) and waits for it. Requests are still served: the app stops before
// the HTTP servers of a retiring config have finished their requests, and
// the order database stays open until finish.
func (rt *shopRuntime) stopBackground() {
	if rt.cancel != nil {
		rt.cancel()
	}
	rt.bg.Wait()
}

// finish refuses new requests, lets those in flight finish (for a while),
// then releases the database and the simulator. It runs when the config is
// cleaned up, after the HTTP servers that could call the shop have stopped.
func (rt *shopRuntime) finish() {
	rt.stopBackground()
	rt.mu.Lock()
	rt.stopping = true
	rt.mu.Unlock()
	done := make(chan struct{})
	go func() {
		rt.requests.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(requestDrain):
		// Caddy waits for the clean-up: do not hold up a reload. A config
		// that replaces this one keeps the database open anyway; on
		// shutdown, what still runs gets ErrClosed (a 503).
		rt.log.Warn("requests still running after the shop stopped")
	}
	rt.release()
}

// release gives back the shared database and simulator.
func (rt *shopRuntime) release() {
	if rt.releaseStore != nil {
		rt.releaseStore()
		rt.releaseStore = nil
	}
	if rt.simKey != "" {
		if _, err := simPool.Delete(rt.simKey); err != nil {
			rt.log.Error("releasing the simulator", zap.Error(err))
		}
		rt.simKey = ""
	}
}

var _ = caddy.Duration(0)

// httpOrigin is the origin of u when it is a plain http address (the
// simulator's, or an api_url over http), for the pages' form-action;
// empty for https, which the pages allow anyway.
func httpOrigin(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "http" || p.Host == "" {
		return ""
	}
	return p.Scheme + "://" + p.Host
}

// caddyRequestID is the request's {http.request.uuid}, the ID Caddy's own
// access log gives it.
func caddyRequestID(r *http.Request) string {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return ""
	}
	id, _ := repl.GetString("http.request.uuid")
	return id
}
