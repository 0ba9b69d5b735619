package caddyvipps

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/handlers"
	"github.com/caddy-vipps/caddy-vipps/shop"
	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler turns a static or proxied web shop into a Vipps MobilePay shop.
//
// It serves its endpoints under BasePath (default /vipps) and passes every
// other request to the next handler: a buy-button form posts to
// {base}/checkout, Vipps sends the buyer back to {base}/return, Vipps
// delivers webhooks to {base}/webhook, the buyer's page polls
// {base}/orders/{reference}, and the merchant captures with POST
// {base}/orders/{reference}/ship.
//
// Prices come only from the catalog configured here; a browser cannot change
// them. Orders are stored in an embedded Badger database before Vipps is
// called, and the database stays open across config reloads. Webhooks are
// verified with the HMAC secret Vipps issued at registration, and a poller
// confirms orders whose webhook and return were both lost.
//
// Secrets (client_secret, subscription_key, admin_token) should be given as
// {env.*} or {file.*} placeholders: they are resolved at provision time and
// never appear in the JSON config.
type Handler struct {
	// Environment selects the Vipps API: "production" (https://api.vipps.no),
	// "test" (https://apitest.vipps.no) or "simulator", which runs the
	// embedded Vipps simulator on SimulatorListen and needs no credentials.
	// Default: simulator.
	Environment string `json:"environment,omitempty"`

	// SimulatorListen is the address of the embedded simulator. The buyer's
	// browser opens its landing page, so it must be reachable from there.
	// Default: 127.0.0.1:9190.
	SimulatorListen string `json:"simulator_listen,omitempty"`

	// ClientID of the sales unit's API keys. Accepts placeholders.
	ClientID string `json:"client_id,omitempty"`

	// ClientSecret of the sales unit's API keys. Use a placeholder such as
	// {env.VIPPS_CLIENT_SECRET} or {file./run/secrets/vipps}: a literal value
	// would be stored in the JSON config.
	ClientSecret string `json:"client_secret,omitempty"`

	// SubscriptionKey is the Ocp-Apim-Subscription-Key. Use a placeholder.
	SubscriptionKey string `json:"subscription_key,omitempty"`

	// MerchantSerialNumber (MSN) of the sales unit. Accepts placeholders.
	MerchantSerialNumber string `json:"merchant_serial_number,omitempty"`

	// APIURL overrides the API base URL for test and production, e.g. a
	// standalone simulator (cmd/vipps-sim) or a recording proxy.
	APIURL string `json:"api_url,omitempty"`

	// PublicURL is the shop's external base URL, e.g.
	// https://shop.example.com. The returnUrl and the webhook URL are built
	// from it, never from a request's Host header. Required outside the
	// simulator; the simulator defaults to http://localhost.
	PublicURL string `json:"public_url,omitempty"`

	// BasePath is where the endpoints live. Default: /vipps.
	BasePath string `json:"base_path,omitempty"`

	// ReferencePrefix starts every order reference; use a different one per
	// shop and environment. A letter followed by up to 24 letters, digits or
	// '-'. Default: "order".
	ReferencePrefix string `json:"reference_prefix,omitempty"`

	// Currency of the shop: NOK, DKK, EUR or SEK. Default: NOK.
	Currency string `json:"currency,omitempty"`

	// PaymentDescription is shown in the Vipps app (3-100 characters).
	// Default: a summary of the items.
	PaymentDescription string `json:"payment_description,omitempty"`

	// Products is the inline catalog. Prices are in minor units (øre,
	// cents), VAT included.
	Products []shop.Product `json:"products,omitempty"`

	// CatalogFile is a JSON catalog ({"products":[{"sku","name","price",
	// "vat","collect"}],"shipping":[...],"collect":[...]}) loaded at
	// provision time, in addition to Products, Shipping and Collect.
	CatalogFile string `json:"catalog_file,omitempty"`

	// Collect asks every buyer to share these profile details with the shop
	// through Vipps (profile sharing, with consent in the app): any of name,
	// email, address, phone. Products can ask for more. The details are
	// stored apart from the order, kept for BuyerRetention, shown to the
	// merchant and never logged. Default: nothing.
	Collect []string `json:"collect,omitempty"`

	// Shipping lists fixed delivery options ({"id","name","price","vat",
	// "default","brand","type","estimated_delivery"}; prices in minor units,
	// VAT included). With shipping options every checkout is a Vipps
	// Express payment: the buyer picks delivery and shares name, address,
	// email and phone number in the app, and authorizes goods plus
	// delivery. Default: none.
	Shipping []shop.ShippingOption `json:"shipping,omitempty"`

	// SuccessURL is where buyers go after a confirmed payment, with
	// ?reference=R appended. Default: a built-in confirmation page.
	SuccessURL string `json:"success_url,omitempty"`

	// CancelURL is where buyers go after a cancelled, rejected or expired
	// payment, with ?reference=R appended. Default: a built-in page with a
	// way to try again.
	CancelURL string `json:"cancel_url,omitempty"`

	// Language of the built-in pages (confirmation, waiting, cancel, error
	// and admin pages) when the browser's Accept-Language names none of en,
	// nb, da, sv and fi. Default: en.
	Language string `json:"language,omitempty"`

	// Brand shown to buyers on the built-in pages: auto, vipps or
	// mobilepay. auto picks by currency: NOK and SEK → Vipps, DKK and EUR →
	// MobilePay. Default: auto.
	Brand string `json:"brand,omitempty"`

	// ShopURL is the link back to the shop on built-in pages. Default: /.
	ShopURL string `json:"shop_url,omitempty"`

	// AdminToken authorises the merchant endpoints (ship, cancel, refund) as
	// "Authorization: Bearer <token>". Use a placeholder. Without it, the
	// merchant endpoints answer 403, unless a request was authenticated by
	// Caddy itself (basic_auth, forward_auth) before reaching this handler.
	AdminToken string `json:"admin_token,omitempty"`

	// AdminUsers are users authenticated by Caddy itself (basic_auth or
	// forward_auth in front of this handler, which set {http.auth.user.id})
	// who may use the merchant endpoints without the admin token.
	AdminUsers []string `json:"admin_users,omitempty"`

	// NotifyURL receives a signed JSON POST (see the README for the
	// signature scheme) for every change of an order's status, sent through
	// the outbox with retries. Failures show on the admin page.
	NotifyURL string `json:"notify_url,omitempty"`

	// NotifySecret signs the notifications (HMAC-SHA256). Required with
	// notify_url; use a placeholder.
	NotifySecret string `json:"notify_secret,omitempty"`

	// DataDir holds the order database. Default: "vipps" in Caddy's data
	// directory. Created with mode 0700.
	DataDir string `json:"data_dir,omitempty"`

	// PollInterval is how often pending orders are looked for. Default: 5s.
	PollInterval caddy.Duration `json:"poll_interval,omitempty"`

	// MaxBodySize caps request bodies, in bytes. Default: 64 KiB.
	MaxBodySize int64 `json:"max_body_size,omitempty"`

	// Timeout bounds each call to Vipps, retries included. Default: 15s;
	// at most 1m, so that the background worker, which takes over an
	// operation whose answer did not come after 2 minutes, never sends it
	// while the request that started it still does.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	// BuyerRetention is how long buyer details (phone number, name,
	// address) are kept; order amounts and items stay. Default: 30 days.
	BuyerRetention caddy.Duration `json:"buyer_retention,omitempty"`

	collect         []string
	clientSecret    string
	subscriptionKey string
	adminToken      string
	notifySecret    string
	clientID        string
	msn             string

	store    *state.Store
	storeKey string
	simKey   string
	svc      *shop.Service
	http     *handlers.Handler
	logger   *zap.Logger
	cancel   context.CancelFunc
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.vipps",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Environments.
const (
	EnvSimulator  = "simulator"
	EnvTest       = "test"
	EnvProduction = "production"
)

// Provision sets defaults, resolves secrets, builds the catalog, opens the
// shared order database and starts the background workers.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	if err := h.setDefaults(); err != nil {
		return err
	}
	if err := h.resolveSecrets(); err != nil {
		return err
	}
	catalog, err := h.buildCatalog()
	if err != nil {
		return err
	}
	baseURL, err := h.apiBaseURL()
	if err != nil {
		return err
	}
	metrics := registerMetrics(ctx.GetMetricsRegistry(), h.logger)
	observer := newObserver(ctx, h.logger, metrics)
	client, err := vipps.New(vipps.Config{
		BaseURL:              baseURL,
		ClientID:             h.clientID,
		ClientSecret:         h.clientSecret,
		SubscriptionKey:      h.subscriptionKey,
		MerchantSerialNumber: h.msn,
		SystemName:           "caddy",
		SystemVersion:        caddyVersion(),
		PluginName:           "caddy-vipps",
		PluginVersion:        Version,
		HTTPClient:           vipps.DefaultHTTPClient(),
		Observe:              observer.VippsExchange,
	})
	if err != nil {
		return fmt.Errorf("vipps client: %w", err)
	}
	if err := h.openStore(); err != nil {
		return err
	}
	h.svc, err = shop.New(shop.Config{
		PublicURL:            h.PublicURL,
		BasePath:             h.BasePath,
		ReferencePrefix:      h.ReferencePrefix,
		PaymentDescription:   h.PaymentDescription,
		PollInterval:         time.Duration(h.PollInterval),
		MerchantSerialNumber: h.msn,
		BuyerRetention:       time.Duration(h.BuyerRetention),
		Collect:              h.collect,
		CallTimeout:          time.Duration(h.Timeout),
		NotifyURL:            h.NotifyURL,
		NotifySecret:         h.notifySecret,
	}, catalog, h.store, client, h.logger, observer)
	if err != nil {
		return err
	}
	h.http = handlers.New(h.svc, handlers.Config{
		BasePath:    h.BasePath,
		MaxBodySize: h.MaxBodySize,
		AdminToken:  h.adminToken,
		SuccessURL:  h.SuccessURL,
		CancelURL:   h.CancelURL,
		ShopURL:     h.ShopURL,
		Language:    h.Language,
		Brand:       handlers.BrandFor(h.Brand, h.Currency),
		Logger:      h.logger,
		Observer:    observer,
	})

	// Background work lives as long as this config: it stops when Caddy
	// unloads it. During a reload the old and new workers overlap briefly;
	// jobs are leased in the store and every check goes through the arbiter,
	// so that is harmless.
	bg, cancel := context.WithCancel(ctx)
	h.cancel = cancel
	go h.svc.KeepWebhookRegistered(bg)
	go h.svc.RunPoller(bg)
	go h.svc.RunWorker(bg)
	h.logger.Info("vipps payments ready",
		zap.String("environment", h.Environment),
		zap.String("base_path", h.BasePath),
		zap.String("public_url", h.PublicURL),
		zap.Int("products", catalog.Len()),
		zap.String("data_dir", h.storeKey))
	return nil
}

func (h *Handler) setDefaults() error {
	if h.Environment == "" {
		h.Environment = EnvSimulator
	}
	switch h.Environment {
	case EnvSimulator, EnvTest, EnvProduction:
	default:
		return fmt.Errorf("environment %q: use simulator, test or production", h.Environment)
	}
	if h.Language != "" && !slices.Contains(handlers.LanguageCodes(), h.Language) {
		return fmt.Errorf("language %q: use one of %s", h.Language, strings.Join(handlers.LanguageCodes(), ", "))
	}
	switch h.Brand {
	case "", "auto", "vipps", "mobilepay":
	default:
		return fmt.Errorf("brand %q: use auto, vipps or mobilepay", h.Brand)
	}
	if h.SimulatorListen == "" {
		h.SimulatorListen = "127.0.0.1:9190"
	}
	if h.BasePath == "" {
		h.BasePath = "/vipps"
	}
	h.BasePath = "/" + strings.Trim(h.BasePath, "/")
	if h.Currency == "" {
		h.Currency = "NOK"
	}
	if h.ReferencePrefix == "" {
		h.ReferencePrefix = "order"
	}
	if err := shop.ValidatePrefix(h.ReferencePrefix); err != nil {
		return err
	}
	if h.PublicURL == "" {
		if h.Environment != EnvSimulator {
			return errors.New("public_url is required: Vipps sends buyers and webhooks to it")
		}
		h.PublicURL = "http://localhost"
	}
	if u, err := url.Parse(h.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("public_url %q must be an absolute http(s) URL", h.PublicURL)
	} else if h.Environment == EnvProduction && u.Scheme != "https" {
		return fmt.Errorf("public_url %q must use https in production", h.PublicURL)
	}
	if h.NotifyURL != "" {
		if u, err := url.Parse(h.NotifyURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("notify_url %q must be an absolute http(s) URL", h.NotifyURL)
		}
	}
	if h.PollInterval == 0 {
		h.PollInterval = caddy.Duration(5 * time.Second)
	}
	if h.MaxBodySize == 0 {
		h.MaxBodySize = 64 << 10
	}
	if h.MaxBodySize < 1024 {
		return fmt.Errorf("max_body_size %d is too small (at least 1KB)", h.MaxBodySize)
	}
	if h.Timeout == 0 {
		h.Timeout = caddy.Duration(15 * time.Second)
	}
	if err := checkTimeout(time.Duration(h.Timeout)); err != nil {
		return err
	}
	if h.BuyerRetention == 0 {
		h.BuyerRetention = caddy.Duration(30 * 24 * time.Hour)
	}
	if h.DataDir == "" {
		h.DataDir = filepath.Join(caddy.AppDataDir(), "vipps")
	}
	return nil
}

// resolveSecrets replaces {env.*} and {file.*} placeholders. A placeholder
// that resolves to nothing is an error naming the option, never the value.
func (h *Handler) resolveSecrets() error {
	repl := caddy.NewReplacer()
	resolve := func(name, in string, required bool) (string, error) {
		if in == "" {
			if required {
				return "", fmt.Errorf("%s is required for environment %s", name, h.Environment)
			}
			return "", nil
		}
		out, err := repl.ReplaceOrErr(in, true, true)
		if err != nil {
			return "", fmt.Errorf("%s: %v", name, err)
		}
		return strings.TrimSpace(out), nil
	}
	live := h.Environment != EnvSimulator
	var err error
	if h.clientID, err = resolve("client_id", h.ClientID, live); err != nil {
		return err
	}
	if h.clientSecret, err = resolve("client_secret", h.ClientSecret, live); err != nil {
		return err
	}
	if h.subscriptionKey, err = resolve("subscription_key", h.SubscriptionKey, live); err != nil {
		return err
	}
	if h.msn, err = resolve("merchant_serial_number", h.MerchantSerialNumber, live); err != nil {
		return err
	}
	if h.adminToken, err = resolve("admin_token", h.AdminToken, false); err != nil {
		return err
	}
	if h.notifySecret, err = resolve("notify_secret", h.NotifySecret, h.NotifyURL != ""); err != nil {
		return err
	}
	if h.NotifyURL != "" && len(h.notifySecret) < 16 {
		return errors.New("notify_secret is too short: use at least 16 characters")
	}
	if h.AdminToken != "" && len(h.adminToken) < 12 {
		return errors.New("admin_token is too short: use at least 12 characters")
	}
	if !live {
		h.clientID = orDefault(h.clientID, "simulator-client")
		h.clientSecret = orDefault(h.clientSecret, "simulator-secret")
		h.subscriptionKey = orDefault(h.subscriptionKey, "simulator-subscription-key")
		h.msn = orDefault(h.msn, "123456")
	}
	return nil
}

// checkTimeout bounds the timeout of a Vipps call below the hand-over of a
// merchant operation to the background worker.
func checkTimeout(d time.Duration) error {
	if d <= 0 || d > shop.MaxCallTimeout {
		return fmt.Errorf("timeout %s: use at most %s, so that a background retry of an operation never overlaps the request that started it", d, shop.MaxCallTimeout)
	}
	return nil
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

func (h *Handler) buildCatalog() (*shop.Catalog, error) {
	products := append([]shop.Product(nil), h.Products...)
	shipping := append([]shop.ShippingOption(nil), h.Shipping...)
	h.collect = append([]string(nil), h.Collect...)
	if h.CatalogFile != "" {
		f, err := shop.ReadCatalogFile(h.CatalogFile)
		if err != nil {
			return nil, fmt.Errorf("catalog_file: %w", err)
		}
		if f.Currency != "" && f.Currency != h.Currency {
			return nil, fmt.Errorf("catalog_file is in %s but the shop sells in %s", f.Currency, h.Currency)
		}
		products = append(products, f.Products...)
		shipping = append(shipping, f.Shipping...)
		h.collect = append(h.collect, f.Collect...)
	}
	if _, err := shop.ParseCollect(h.collect); err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	if len(products) == 0 {
		return nil, errors.New("the catalog is empty: add product lines or a catalog file")
	}
	c, err := shop.NewCatalog(h.Currency, products)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	if err := c.SetShipping(shipping); err != nil {
		return nil, fmt.Errorf("shipping: %w", err)
	}
	return c, nil
}

func (h *Handler) apiBaseURL() (string, error) {
	switch h.Environment {
	case EnvSimulator:
		key, base, err := acquireSimulator(h.SimulatorListen, h.logger)
		if err != nil {
			return "", err
		}
		h.simKey = key
		return base, nil
	case EnvTest:
		return orDefault(h.APIURL, vipps.TestURL), nil
	default:
		return orDefault(h.APIURL, vipps.ProductionURL), nil
	}
}

// Validate checks the configuration after provisioning.
func (h *Handler) Validate() error {
	if h.svc == nil {
		return errors.New("not provisioned")
	}
	return nil
}

// Cleanup stops the background workers and releases the shared database and
// simulator, but only the references this instance really acquired.
func (h *Handler) Cleanup() error {
	if h.cancel != nil {
		h.cancel()
	}
	var errs []error
	if h.storeKey != "" {
		if _, err := storePool.Delete(h.storeKey); err != nil {
			errs = append(errs, err)
		}
		h.storeKey = ""
	}
	if h.simKey != "" {
		if _, err := simPool.Delete(h.simKey); err != nil {
			errs = append(errs, err)
		}
		h.simKey = ""
	}
	return errors.Join(errs...)
}

// ServeHTTP serves the endpoints under the base path and passes everything
// else on.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if !h.http.Owns(r.URL.Path) {
		return next.ServeHTTP(w, r)
	}
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		if user, _ := repl.GetString("http.auth.user.id"); user != "" && slices.Contains(h.AdminUsers, user) {
			r = r.WithContext(handlers.WithMerchant(r.Context(), user))
		}
	}
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil {
		r = r.WithContext(handlers.WithOriginalURL(r.Context(), orig.URL))
	}
	h.http.ServeHTTP(w, r)
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
