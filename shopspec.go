package caddyvipps

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-vipps/caddy-vipps/handlers"
	"github.com/caddy-vipps/caddy-vipps/shop"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// Environments.
const (
	EnvSimulator  = "simulator"
	EnvTest       = "test"
	EnvProduction = "production"
)

// DefaultShop names the shop a vipps handler block declares when it does
// not name one.
const DefaultShop = "default"

var shopNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// checkShopName checks a shop's name: it names its directory too.
func checkShopName(name string) error {
	if !shopNamePattern.MatchString(name) {
		return fmt.Errorf("shop name %q: use 1 to 32 lower-case letters, digits, '-' or '_', starting with a letter or digit", name)
	}
	return nil
}

// shopSpec is a shop's configuration with its defaults set, its secrets
// resolved and its catalog built: everything Provision may do, which must
// have no side effect (caddy validate provisions too). Starting it is the
// app's work.
type shopSpec struct {
	name string
	cfg  ShopConfig // with defaults

	catalog *shop.Catalog
	collect []string

	clientID, clientSecret, subscriptionKey, msn string
	adminToken, notifySecret                     string

	// logo is the logo file's content and type, when Logo names a file.
	logo     []byte
	logoType string

	// dataDir is absolute; legacy is set when the shop keeps using the
	// directory an older version put every shop's orders in.
	dataDir string
	legacy  bool
	// engine keeps the orders (Badger unless the config says otherwise).
	engine StoreEngine
	// derivePublicURL is set in the simulator when no public_url was
	// given: the app derives it from the site that serves the shop.
	derivePublicURL bool
}

// prepare makes a shopSpec: defaults, checks, secrets, catalog. Errors
// name the option.
func (c ShopConfig) prepare(name string) (*shopSpec, error) {
	if err := checkShopName(name); err != nil {
		return nil, err
	}
	s := &shopSpec{name: name, cfg: c}
	if err := s.setDefaults(); err != nil {
		return nil, err
	}
	if err := s.resolveSecrets(); err != nil {
		return nil, err
	}
	if err := s.buildCatalog(); err != nil {
		return nil, err
	}
	if err := s.readLogo(); err != nil {
		return nil, err
	}
	return s, nil
}

// isLogoURL tells a logo given as an address from one given as a file.
func isLogoURL(logo string) bool {
	return strings.HasPrefix(logo, "https://") || strings.HasPrefix(logo, "http://")
}

// checkLogo checks a logo address; a file is checked when it is read.
func checkLogo(logo string) error {
	if !isLogoURL(logo) {
		return nil
	}
	if u, err := url.Parse(logo); err != nil || u.Host == "" {
		return fmt.Errorf("logo %q is not a valid URL", logo)
	}
	return nil
}

// readLogo reads a logo file for the shop to serve.
func (s *shopSpec) readLogo() error {
	logo := s.cfg.Logo
	if logo == "" || isLogoURL(logo) {
		return checkLogo(logo)
	}
	b, ct, err := handlers.ReadLogo(logo)
	if err != nil {
		return err
	}
	s.logo, s.logoType = b, ct
	return nil
}

// logoURL is the logo's address when it is given as one.
func (s *shopSpec) logoURL() string {
	if isLogoURL(s.cfg.Logo) {
		return s.cfg.Logo
	}
	return ""
}

// hasCredentials reports whether any of the sales unit's keys is given.
func (c ShopConfig) hasCredentials() bool {
	return c.ClientID != "" || c.ClientSecret != "" || c.SubscriptionKey != "" || c.MerchantSerialNumber != ""
}

// checkEnvironment refuses a config with credentials but no environment:
// it would silently run the simulator.
func (c ShopConfig) checkEnvironment() error {
	switch c.Environment {
	case "":
		if c.hasCredentials() {
			return errors.New("environment is missing: the shop has Vipps credentials, so say which Vipps they are for (environment test or environment production; environment simulator for a simulator_public that requires them)")
		}
	case EnvSimulator, EnvTest, EnvProduction:
	default:
		return fmt.Errorf("invalid environment '%s': use simulator, test or production", c.Environment)
	}
	return nil
}

// checkPublicURL checks public_url's syntax for an environment.
func checkPublicURL(raw, env string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("public_url %q must be an absolute http(s) URL such as https://shop.example.com", raw)
	}
	if env == EnvProduction && u.Scheme != "https" {
		return fmt.Errorf("public_url %q must use https in production", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("public_url %q must not have a query or fragment", raw)
	}
	return nil
}

func (s *shopSpec) setDefaults() error {
	c := &s.cfg
	if err := c.checkEnvironment(); err != nil {
		return err
	}
	if c.Environment == "" {
		c.Environment = EnvSimulator
	}
	if err := checkLanguage(c.Language); err != nil {
		return err
	}
	if err := checkBrand(c.Brand); err != nil {
		return err
	}
	if c.SimulatorListen == "" {
		c.SimulatorListen = "127.0.0.1:9190"
	}
	if err := checkListen(c.SimulatorListen); err != nil {
		return err
	}
	if c.Environment == EnvSimulator && !c.SimulatorPublic && !loopbackListen(c.SimulatorListen) {
		return fmt.Errorf("simulator_listen %q is not a loopback address: the simulated Vipps API (access tokens, payments, the webhook registration) would be open to the network; listen on 127.0.0.1, or add simulator_public with the shop's own client_id, client_secret and subscription_key", c.SimulatorListen)
	}
	if c.BasePath == "" {
		c.BasePath = "/vipps"
	}
	c.BasePath = "/" + strings.Trim(c.BasePath, "/")
	if c.Currency == "" {
		c.Currency = "NOK"
	}
	if c.ReferencePrefix == "" {
		c.ReferencePrefix = "order"
	}
	if err := shop.ValidatePrefix(c.ReferencePrefix); err != nil {
		return err
	}
	switch {
	case c.PublicURL != "":
		if err := checkPublicURL(c.PublicURL, c.Environment); err != nil {
			return err
		}
		c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	case c.Environment == EnvSimulator:
		s.derivePublicURL = true
	default:
		return errors.New("public_url is required: Vipps sends buyers and webhooks to it")
	}
	if c.NotifyURL != "" {
		if u, err := url.Parse(c.NotifyURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("notify_url %q must be an absolute http(s) URL", c.NotifyURL)
		}
	}
	if c.PollInterval == 0 {
		c.PollInterval = caddy.Duration(5 * time.Second)
	}
	if c.MaxBodySize == 0 {
		c.MaxBodySize = 64 << 10
	}
	if c.MaxBodySize < 1024 {
		return fmt.Errorf("max_body_size %d is too small (at least 1KB)", c.MaxBodySize)
	}
	if c.Timeout == 0 {
		c.Timeout = caddy.Duration(15 * time.Second)
	}
	if err := checkTimeout(time.Duration(c.Timeout)); err != nil {
		return err
	}
	if c.BuyerRetention == 0 {
		c.BuyerRetention = caddy.Duration(30 * 24 * time.Hour)
	}
	if c.AbandonedRetention == nil {
		d := caddy.Duration(defaultAbandonedRetention)
		c.AbandonedRetention = &d
	}
	if err := checkAbandonedRetention(time.Duration(*c.AbandonedRetention)); err != nil {
		return err
	}
	return s.setDataDir()
}

// setDataDir picks the shop's directory: data_dir, or its own directory
// under Caddy's data directory. The directory an older version kept every
// shop in stays the default shop's, so an upgrade keeps its orders.
func (s *shopSpec) setDataDir() error {
	dir := s.cfg.DataDir
	if dir == "" {
		base := filepath.Join(caddy.AppDataDir(), "vipps")
		dir = filepath.Join(base, "shops", s.name)
		if _, err := os.Stat(filepath.Join(base, "MANIFEST")); err == nil && s.name == DefaultShop {
			dir, s.legacy = base, true
		}
	}
	abs, err := caddy.FastAbs(dir)
	if err != nil {
		return fmt.Errorf("data_dir %q: %w", dir, err)
	}
	s.dataDir = abs
	return nil
}

// resolveSecrets replaces {env.*} and {file.*} placeholders. A placeholder
// that resolves to nothing is an error naming the option, never the value.
func (s *shopSpec) resolveSecrets() error {
	c := &s.cfg
	repl := caddy.NewReplacer()
	resolve := func(name, in string, required bool) (string, error) {
		if in == "" {
			if required {
				return "", fmt.Errorf("%s is required for environment %s", name, c.Environment)
			}
			return "", nil
		}
		out, err := repl.ReplaceOrErr(in, true, true)
		if err != nil {
			return "", fmt.Errorf("%s: %v", name, err)
		}
		return strings.TrimSpace(out), nil
	}
	live := c.Environment != EnvSimulator
	var err error
	if s.clientID, err = resolve("client_id", c.ClientID, live); err != nil {
		return err
	}
	if s.clientSecret, err = resolve("client_secret", c.ClientSecret, live); err != nil {
		return err
	}
	if s.subscriptionKey, err = resolve("subscription_key", c.SubscriptionKey, live); err != nil {
		return err
	}
	if s.msn, err = resolve("merchant_serial_number", c.MerchantSerialNumber, live); err != nil {
		return err
	}
	if s.adminToken, err = resolve("admin_token", c.AdminToken, false); err != nil {
		return err
	}
	if s.notifySecret, err = resolve("notify_secret", c.NotifySecret, c.NotifyURL != ""); err != nil {
		return err
	}
	if c.NotifyURL != "" && len(s.notifySecret) < 16 {
		return errors.New("notify_secret is too short: use at least 16 characters")
	}
	if c.AdminToken != "" && len(s.adminToken) < 12 {
		return errors.New("admin_token is too short: use at least 12 characters")
	}
	if c.Environment == EnvSimulator && c.SimulatorPublic && (s.clientID == "" || s.clientSecret == "" || s.subscriptionKey == "") {
		return errors.New("simulator_public needs the shop's own client_id, client_secret and subscription_key: the simulator, open to the network, gives access tokens only for them")
	}
	if !live {
		s.clientID = orDefault(s.clientID, "simulator-client")
		s.clientSecret = orDefault(s.clientSecret, "simulator-secret")
		s.subscriptionKey = orDefault(s.subscriptionKey, "simulator-subscription-key")
		s.msn = orDefault(s.msn, "123456")
	}
	return nil
}

// defaultAbandonedRetention is how long an order that never moved money
// is kept unless abandoned_retention says otherwise.
const defaultAbandonedRetention = 30 * 24 * time.Hour

// checkAbandonedRetention: 0 keeps abandoned orders; otherwise at least a
// day, longer than any payment that failed to be created could still
// turn up at Vipps.
func checkAbandonedRetention(d time.Duration) error {
	if d < 0 || (d > 0 && d < 24*time.Hour) {
		return fmt.Errorf("abandoned_retention %s: use at least 1d, or off (0) to keep orders that never moved money", d)
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

func (s *shopSpec) buildCatalog() error {
	c := &s.cfg
	products := append([]shop.Product(nil), c.Products...)
	shipping := append([]shop.ShippingOption(nil), c.Shipping...)
	s.collect = append([]string(nil), c.Collect...)
	if c.CatalogFile != "" {
		f, err := shop.ReadCatalogFile(c.CatalogFile)
		if err != nil {
			return fmt.Errorf("catalog_file: %w", err)
		}
		if f.Currency != "" && f.Currency != c.Currency {
			return fmt.Errorf("catalog_file is in %s but the shop sells in %s", f.Currency, c.Currency)
		}
		products = append(products, f.Products...)
		shipping = append(shipping, f.Shipping...)
		s.collect = append(s.collect, f.Collect...)
	}
	if _, err := shop.ParseCollect(s.collect); err != nil {
		return fmt.Errorf("collect: %w", err)
	}
	if len(products) == 0 {
		return errors.New("the catalog is empty: add product lines or a catalog file")
	}
	cat, err := shop.NewCatalog(c.Currency, products)
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	for _, p := range products {
		if err := checkNameLanguages(p); err != nil {
			return fmt.Errorf("catalog: %w", err)
		}
	}
	if err := cat.SetShipping(shipping); err != nil {
		return fmt.Errorf("shipping: %w", err)
	}
	s.catalog = cat
	return nil
}

// apiBaseURL is where the shop's Vipps lives outside the simulator.
func (s *shopSpec) apiBaseURL() string {
	if s.cfg.Environment == EnvTest {
		return orDefault(s.cfg.APIURL, vipps.TestURL)
	}
	return orDefault(s.cfg.APIURL, vipps.ProductionURL)
}

// sameAs reports whether two declarations of a shop say the same (apex and
// www sites with one copied block).
func (c ShopConfig) sameAs(o ShopConfig) bool {
	a, _ := json.Marshal(c)
	b, _ := json.Marshal(o)
	return string(a) == string(b)
}

// isEmpty reports whether a handler carries no shop options at all (it
// refers to a shop defined elsewhere).
func (c ShopConfig) isEmpty() bool {
	b, _ := json.Marshal(c)
	return string(b) == "{}"
}

// checkLanguage: a language of the built-in pages, or none.
func checkLanguage(v string) error {
	if v != "" && !slices.Contains(handlers.LanguageCodes(), v) {
		return fmt.Errorf("language %q: use one of %s", v, strings.Join(handlers.LanguageCodes(), ", "))
	}
	return nil
}

// checkNameLanguages: a product is named only in languages of the
// built-in pages, the languages a buyer's pages can be in.
func checkNameLanguages(p shop.Product) error {
	for _, lang := range slices.Sorted(maps.Keys(p.Names)) {
		if !slices.Contains(handlers.LanguageCodes(), lang) {
			return fmt.Errorf("sku %q: name language %q: use one of %s", p.SKU, lang, strings.Join(handlers.LanguageCodes(), ", "))
		}
	}
	return nil
}

// checkBrand: the mark the pages show.
func checkBrand(v string) error {
	switch v {
	case "", "auto", "vipps", "mobilepay":
		return nil
	}
	return fmt.Errorf("brand %q: use auto, vipps or mobilepay", v)
}

// loopbackListen reports whether a simulator address listens on loopback
// only: localhost or a loopback IP (an empty host is every address).
func loopbackListen(v string) bool {
	host, _, err := net.SplitHostPort(v)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkListen: the simulator's address is host:port (the host may be
// empty for every address), checked before anything listens on it.
func checkListen(v string) error {
	host, port, err := net.SplitHostPort(v)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || n < 0 || n > 65535 || strings.ContainsAny(host, "/ ") {
		return fmt.Errorf("simulator_listen %q: use host:port, such as 127.0.0.1:9190 (or :9190 for every address)", v)
	}
	return nil
}
