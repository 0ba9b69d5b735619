package caddyvipps

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/handlers"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler serves a shop's endpoints under its base path (default /vipps)
// and passes every other request to the next handler: a buy-button form
// posts to {base}/checkout, Vipps sends the buyer back to {base}/return,
// Vipps delivers webhooks to {base}/webhook, the buyer's page polls
// {base}/orders/{reference}, and the merchant captures with POST
// {base}/orders/{reference}/ship.
//
// The shop itself — its Vipps sales unit, catalog, database and background
// work — belongs to the vipps app. A handler either names a shop defined
// there ("vipps main" in a Caddyfile), or carries the shop's options
// itself, which declares the shop (named "default" unless Shop says
// otherwise); several sites may serve one shop.
//
// Prices come only from the shop's catalog; a browser cannot change them.
// Secrets (client_secret, subscription_key, admin_token) should be given as
// {env.*} or {file.*} placeholders: they are resolved at provision time and
// never appear in the JSON config.
type Handler struct {
	// Shop names the shop this handler serves. Default: "default".
	Shop string `json:"shop,omitempty"`

	// ShopConfig, when given, declares the shop here: the one-block form.
	// Leave it empty to serve a shop defined in the vipps app.
	ShopConfig

	entry  *shopEntry
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.vipps",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision finds the handler's shop in the vipps app, declaring it there
// when the handler carries its options. It opens nothing and starts nothing:
// the app does that when the config starts.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	appAny, err := ctx.App("vipps")
	if err != nil {
		return err
	}
	app := appAny.(*App)
	name := h.Shop
	if name == "" {
		name = DefaultShop
	}
	if err := checkShopName(name); err != nil {
		return err
	}
	if h.ShopConfig.isEmpty() {
		h.entry = app.refer(name)
	} else if h.entry, err = app.declare(name, h.ShopConfig, false); err != nil {
		return err
	}
	app.mount(h.entry, h)
	return nil
}

// shopStartWait is how long a request waits for its shop to start (the
// vipps app may start a moment after the http app).
const shopStartWait = 10 * time.Second

// running returns the shop's runtime, waiting for it to start.
func (h *Handler) running(r *http.Request) (*shopRuntime, error) {
	if rt := h.entry.runtime.Load(); rt != nil {
		return rt, nil
	}
	t := time.NewTimer(shopStartWait)
	defer t.Stop()
	select {
	case <-h.entry.started:
	case <-t.C:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	if rt := h.entry.runtime.Load(); rt != nil {
		return rt, nil
	}
	return nil, errNotStarted
}

// ServeHTTP serves the shop's endpoints under its base path and passes
// everything else on. Errors a browser would see are returned as
// caddyhttp.Error when the site has handle_errors routes (so they can
// style them), and answered with the built-in pages otherwise; API callers
// get problem+json either way.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	spec := h.entry.spec
	if spec == nil || !pathUnder(r.URL.Path, spec.cfg.BasePath) {
		return next.ServeHTTP(w, r)
	}
	rt, err := h.running(r)
	if err != nil {
		return caddyhttp.Error(http.StatusServiceUnavailable, err)
	}
	if !rt.enter() {
		return caddyhttp.Error(http.StatusServiceUnavailable, errNotStarted)
	}
	defer rt.leave()
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		if user, _ := repl.GetString("http.auth.user.id"); user != "" && slices.Contains(spec.cfg.AdminUsers, user) {
			r = r.WithContext(handlers.WithMerchant(r.Context(), user))
		}
	}
	var sink *handlers.ErrorSink
	if srv, ok := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server); ok && srv.Errors != nil && len(srv.Errors.Routes) > 0 {
		sink = new(handlers.ErrorSink)
		r = r.WithContext(handlers.WithErrorSink(r.Context(), sink))
	}
	rt.http.ServeHTTP(w, r)
	if sink != nil && sink.Status != 0 {
		return caddyhttp.Error(sink.Status, sink.Err)
	}
	return nil
}

// pathUnder reports whether path is base or below it.
func pathUnder(path, base string) bool {
	return path == base || strings.HasPrefix(path, base+"/")
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
