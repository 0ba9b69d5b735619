package shop

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// Config is what the payment flow needs to know about the shop.
type Config struct {
	// PublicURL is the shop's external base URL, e.g. https://shop.example.com.
	// The returnUrl and the webhook URL are built from it, never from a
	// request's Host header.
	PublicURL string

	// BasePath is where the endpoints live, e.g. /vipps.
	BasePath string

	// ReferencePrefix starts every order reference.
	ReferencePrefix string

	// PaymentDescription is shown in the Vipps app. Empty: a summary of the
	// items.
	PaymentDescription string

	// PollInterval is how often the poller looks for orders that are due a
	// check at Vipps.
	PollInterval time.Duration

	// MerchantSerialNumber is recorded in logs and compared with webhooks.
	MerchantSerialNumber string

	// BuyerRetention is how long buyer details (name, email, phone number,
	// address) are kept.
	BuyerRetention time.Duration

	// AbandonedRetention is how long an order that never moved money
	// (state.Order.Abandoned) is kept; 0 keeps them.
	AbandonedRetention time.Duration

	// Collect asks every buyer to share these profile details through
	// Vipps: any of name, email, address, phone (see ParseCollect).
	Collect []string

	// CallTimeout bounds each call to Vipps, retries included. Default: 15s;
	// at most MaxCallTimeout.
	CallTimeout time.Duration

	// NotifyURL receives a signed JSON POST for every change of an order's
	// status (empty: no notifications). NotifySecret signs them.
	NotifyURL    string
	NotifySecret string
}

// Observer hears about every committed order change. It is called after the
// change is durable, outside any transaction, and must not block for long.
type Observer interface {
	OrderChanged(before, after *state.Order, src state.Source)
}

// Service is the payment flow: checkout, confirmation, webhooks, polling,
// receipts and merchant operations. It knows nothing about HTTP requests or
// Caddy; handlers call it, and it calls Vipps and the order store.
type Service struct {
	cfg      Config
	catalog  *Catalog
	store    state.Store
	vipps    *vipps.Client
	log      *zap.Logger
	observer Observer
	now      func() time.Time

	// reads is the per-order budget of reads at Vipps.
	reads *readBudget

	// pushKeyCache is the shop's secret for counting pushes (pushKey).
	pushKeyMu    sync.Mutex
	pushKeyCache []byte

	notifyClient *http.Client

	// webhookRecheck asks KeepWebhookRegistered to look at the
	// registrations at Vipps again (a delivery failed its signature).
	webhookRecheck chan struct{}
}

// New builds a Service. The store and client are shared; the service does not
// close them.
func New(cfg Config, catalog *Catalog, store state.Store, client *vipps.Client, log *zap.Logger, observer Observer) (*Service, error) {
	if catalog == nil || store == nil || client == nil {
		return nil, errors.New("shop: catalog, store and client are required")
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("public url %q must be an absolute http(s) URL", cfg.PublicURL)
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.BasePath == "" {
		cfg.BasePath = "/vipps"
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 5 * time.Second
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 15 * time.Second
	}
	if cfg.CallTimeout > MaxCallTimeout {
		return nil, fmt.Errorf("call timeout %s is longer than %s: a background retry could overlap the request", cfg.CallTimeout, MaxCallTimeout)
	}
	if _, err := ParseCollect(cfg.Collect); err != nil {
		return nil, err
	}
	if cfg.BuyerRetention <= 0 {
		cfg.BuyerRetention = 30 * 24 * time.Hour
	}
	if log == nil {
		log = zap.NewNop()
	}
	if observer == nil {
		observer = nopObserver{}
	}
	return &Service{
		cfg:            cfg,
		catalog:        catalog,
		store:          store,
		vipps:          client,
		log:            log,
		observer:       observer,
		now:            time.Now,
		reads:          newReadBudget(),
		notifyClient:   &http.Client{Timeout: 10 * time.Second},
		webhookRecheck: make(chan struct{}, 1),
	}, nil
}

// SetClock replaces the service's clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Catalog returns the shop's catalog.
func (s *Service) Catalog() *Catalog { return s.catalog }

// Store returns the order store.
func (s *Service) Store() state.Store { return s.store }

// Config returns the service configuration.
func (s *Service) Config() Config { return s.cfg }

// callCtx bounds one Vipps call, retries included.
func (s *Service) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.CallTimeout)
}

// ReturnURL is where Vipps sends the buyer back for an order.
func (s *Service) ReturnURL(ref string) string {
	return s.cfg.PublicURL + s.cfg.BasePath + "/return?reference=" + url.QueryEscape(ref)
}

// WebhookURL is the URL registered at Vipps for webhooks.
func (s *Service) WebhookURL() string {
	return s.cfg.PublicURL + s.cfg.BasePath + "/webhook"
}

// Order returns an order by reference.
func (s *Service) Order(ref string) (*state.Order, error) {
	if !ValidReference(ref) {
		return nil, ErrNotFound
	}
	o, err := s.store.Get(ref)
	if errors.Is(err, state.ErrNotFound) {
		return nil, ErrNotFound
	}
	return o, err
}

// BuyerOf returns what is known of an order's buyer (shared through Vipps
// or typed at checkout), or nil when there is nothing or it has expired.
// Personal data: for the merchant's eyes, never for logs.
func (s *Service) BuyerOf(ref string) *state.Buyer {
	b, err := s.store.Buyer(ref)
	if err != nil {
		return nil
	}
	return b
}

// update is the one door to the store for the flow: it runs the arbiter and
// tells the observer about committed changes.
func (s *Service) update(ref string, src state.Source, fn func(o *state.Order, tx *state.Tx) error) (*state.Order, bool, error) {
	var before *state.Order
	after, changed, err := s.store.Update(ref, src, func(o *state.Order, tx *state.Tx) error {
		c := *o
		c.Ops = slices.Clone(o.Ops)
		before = &c
		if err := fn(o, tx); err != nil {
			return err
		}
		if s.cfg.NotifyURL != "" {
			if j, ok := s.notifyEvent(ref, before, o); ok {
				tx.Enqueue(j)
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, state.ErrNotFound) {
			return nil, false, ErrNotFound
		}
		return after, false, err
	}
	if changed {
		s.observer.OrderChanged(before, after, src)
	}
	return after, changed, nil
}

// classify turns a Vipps client error into a shop error: transient failures
// become UnavailableError, definite refusals RejectedError.
func (s *Service) classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || vipps.IsTransient(err) || vipps.StatusCode(err) == 0 || vipps.StatusCode(err) >= 500 || vipps.StatusCode(err) == 401 {
		return &UnavailableError{Op: op, Err: err}
	}
	var ve *vipps.Error
	re := &RejectedError{Op: op, Status: vipps.StatusCode(err), Code: vipps.ErrorCode(err), Err: err}
	if errors.As(err, &ve) {
		re.TraceID = ve.TraceID
	}
	return re
}

type nopObserver struct{}

func (nopObserver) OrderChanged(_, _ *state.Order, _ state.Source) {}
