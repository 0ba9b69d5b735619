package vipps

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Base URLs of the two Vipps MobilePay environments. They share nothing:
// keys, merchant serial numbers and webhook registrations are separate.
const (
	ProductionURL = "https://api.vipps.no"
	TestURL       = "https://apitest.vipps.no"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultMaxRetries     = 3
	DefaultRetryBaseDelay = 250 * time.Millisecond
	DefaultRetryMaxDelay  = 5 * time.Second
	DefaultPluginName     = "caddy-vipps"
)

// maxSystemHeader is the longest value Vipps accepts in a Vipps-System-*
// header.
const maxSystemHeader = 30

// Config holds what a Client needs to call Vipps MobilePay for one sales
// unit.
type Config struct {
	// BaseURL is ProductionURL, TestURL or any absolute http(s) URL that
	// serves the same API, such as a simulator. A path prefix is kept.
	BaseURL string
	// ClientID and ClientSecret are the sales unit's API keys, sent only to
	// the access token endpoint.
	ClientID     string
	ClientSecret string
	// SubscriptionKey is the Ocp-Apim-Subscription-Key sent on every call
	// (the primary or the secondary key).
	SubscriptionKey string
	// MerchantSerialNumber (MSN) identifies the sales unit, e.g. "123456".
	MerchantSerialNumber string

	// SystemName, SystemVersion, PluginName and PluginVersion are sent as
	// the Vipps-System-* headers, cut to 30 characters. SystemName
	// defaults to "caddy", PluginName to "caddy-vipps" and the versions to
	// "unknown".
	SystemName    string
	SystemVersion string
	PluginName    string
	PluginVersion string

	// HTTPClient sends the requests. Nil means DefaultHTTPClient(). The
	// client is used through a copy that never follows redirects, so the
	// credentials are never sent to another host.
	HTTPClient *http.Client

	// MaxRetries bounds how often a transiently failed call is repeated
	// after the first attempt. Zero means DefaultMaxRetries; a negative
	// value disables retries. The caller's context bounds retries as well.
	MaxRetries int
	// RetryBaseDelay is the backoff before the first retry; each further
	// retry doubles it, up to RetryMaxDelay, with full jitter. Zero means
	// DefaultRetryBaseDelay.
	RetryBaseDelay time.Duration
	// RetryMaxDelay caps one backoff wait, and the wait honoured from a
	// Retry-After header. Zero means DefaultRetryMaxDelay.
	RetryMaxDelay time.Duration

	// Now returns the current time; nil means time.Now. Tests set it to
	// drive token expiry.
	Now func() time.Time

	// Observe, when set, hears about every HTTP exchange with Vipps, retries
	// included: the operation (e.g. "capture payment"), the status Vipps
	// answered (0 when no answer came) and how long it took. It is called
	// on the request's goroutine and must be quick (metrics).
	Observe func(operation string, status int, took time.Duration)
}

// DefaultHTTPClient returns the *http.Client used when Config.HTTPClient is
// nil: a 5 s dial timeout, a 5 s TLS handshake timeout, a 15 s response
// header timeout, a 30 s limit on a whole exchange, and no redirects.
func DefaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 5 * time.Second
	t.ResponseHeaderTimeout = 15 * time.Second
	// As many idle connections as checkouts run at once on a busy shop:
	// fewer, and each burst past them opens (and, to Vipps, TLS-handshakes)
	// connections that are closed again right after.
	t.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: t, Timeout: 30 * time.Second, CheckRedirect: noRedirects}
}

// noRedirects makes an *http.Client return a redirect as the answer: the
// Vipps APIs do not redirect, and following one would send the subscription
// key and client secret to wherever it points.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// validate checks cfg and fills defaults. Errors name the field, never its
// value.
func (cfg *Config) validate() error {
	var errs []error
	u, err := url.Parse(strings.TrimSpace(cfg.BaseURL))
	switch {
	case cfg.BaseURL == "":
		errs = append(errs, errors.New("vipps: config: BaseURL is required"))
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		errs = append(errs, errors.New("vipps: config: BaseURL must be an absolute http or https URL"))
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		errs = append(errs, errors.New("vipps: config: BaseURL must not carry a query, fragment or user info"))
	}
	required := []struct{ name, value string }{
		{"ClientID", cfg.ClientID},
		{"ClientSecret", cfg.ClientSecret},
		{"SubscriptionKey", cfg.SubscriptionKey},
		{"MerchantSerialNumber", cfg.MerchantSerialNumber},
	}
	for _, f := range required {
		if strings.TrimSpace(f.value) == "" {
			errs = append(errs, fmt.Errorf("vipps: config: %s is required", f.name))
		} else if !validHeaderValue(f.value) {
			errs = append(errs, fmt.Errorf("vipps: config: %s contains characters not allowed in an HTTP header", f.name))
		}
	}
	optional := []struct{ name, value string }{
		{"SystemName", cfg.SystemName},
		{"SystemVersion", cfg.SystemVersion},
		{"PluginName", cfg.PluginName},
		{"PluginVersion", cfg.PluginVersion},
	}
	for _, f := range optional {
		if !validHeaderValue(f.value) {
			errs = append(errs, fmt.Errorf("vipps: config: %s contains characters not allowed in an HTTP header", f.name))
		}
	}
	if cfg.RetryBaseDelay < 0 || cfg.RetryMaxDelay < 0 {
		errs = append(errs, errors.New("vipps: config: retry delays must not be negative"))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	cfg.BaseURL = strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	if cfg.SystemName == "" {
		cfg.SystemName = "caddy"
	}
	if cfg.SystemVersion == "" {
		cfg.SystemVersion = "unknown"
	}
	if cfg.PluginName == "" {
		cfg.PluginName = DefaultPluginName
	}
	if cfg.PluginVersion == "" {
		cfg.PluginVersion = "unknown"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = DefaultHTTPClient()
	}
	hc := *cfg.HTTPClient
	hc.CheckRedirect = noRedirects
	cfg.HTTPClient = &hc
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = DefaultMaxRetries
	} else if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.RetryBaseDelay == 0 {
		cfg.RetryBaseDelay = DefaultRetryBaseDelay
	}
	if cfg.RetryMaxDelay == 0 {
		cfg.RetryMaxDelay = DefaultRetryMaxDelay
	}
	if cfg.RetryMaxDelay < cfg.RetryBaseDelay {
		cfg.RetryMaxDelay = cfg.RetryBaseDelay
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return nil
}

// validHeaderValue reports whether s can be sent as a header value: printable
// ASCII and tabs only.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

// truncateHeader cuts s to the 30 characters Vipps accepts in the
// Vipps-System-* headers.
func truncateHeader(s string) string {
	if len(s) > maxSystemHeader {
		return s[:maxSystemHeader]
	}
	return s
}
