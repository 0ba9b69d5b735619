package sim

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Options configure a Simulator. The zero value is a usable simulator.
type Options struct {
	// Clock drives expiry, deadlines, token lifetime and webhook retries.
	// Default: real time with an offset that /_sim/clock/advance grows.
	Clock Clock
	// PublicURL is the simulator's external base URL, used in the landing
	// page links (redirectUrl). Default: http://<Host of each request>.
	PublicURL string
	// TokenLifetime of access tokens. Default: 1h (the test environment).
	TokenLifetime time.Duration
	// PaymentTimeout is how long a CREATED payment waits for the buyer
	// before it EXPIRES. Default: 10 minutes.
	PaymentTimeout time.Duration
	// Currencies accepted. Default: NOK, DKK, EUR, SEK.
	Currencies []string
	// WebhookLimitPerEvent caps registrations per event type and MSN.
	// Default: 25.
	WebhookLimitPerEvent int
	// HTTPClient delivers webhooks. Default: a client with a 10s timeout,
	// Vipps' limit for an answer.
	HTTPClient *http.Client
	// ProfileDelay is how long after authorization the shared profile
	// (profile.sub, userDetails, shippingDetails) appears on the payment;
	// Vipps writes it asynchronously. Default: 0, at once.
	ProfileDelay time.Duration
	// StrictUserinfo answers 401 to Userinfo calls that carry a
	// subscription key, as Vipps does. Default: accept both.
	StrictUserinfo bool
	// SubOnly shows only profile.sub on an authorized payment, as ePayment
	// did before version 1.8.1: the details then come from the Userinfo
	// API.
	SubOnly bool
	// ExpressDisabled makes the sales unit refuse Express payments (5020).
	ExpressDisabled bool
	// Retention is how long a finished payment (any state but CREATED) is
	// kept after its last change; then it is forgotten with everything
	// that belongs to it: idempotency entries, landing token, pending
	// webhook deliveries, receipt and category. Idempotency entries,
	// receipts and categories of references without a payment are
	// forgotten Retention after they were made. It bounds the memory and
	// the data directory of a long demo or load test; a forgotten payment
	// is 404 like one that never was, so choose a retention longer than the
	// time a shop still captures or refunds. Default: 0, keep everything.
	Retention time.Duration
	// DataDir, when set, is a directory where the simulator keeps its
	// state, so that a restarted simulator still knows every payment,
	// idempotency key, webhook registration (with its secret), pending
	// webhook delivery, receipt, category and image, and the clock offset.
	// Access tokens are not kept: clients fetch new ones. Every change is
	// written before the answer that reports it is sent. Default: memory
	// only.
	DataDir string
	// ControlToken lets clients that are not on a loopback address use the
	// control API (/_sim/) with "Authorization: Bearer <token>". Default: a
	// random token, see Simulator.ControlToken.
	ControlToken string
	// Credentials, when set, are the only API keys the simulator gives
	// access tokens for (client_id, client_secret and the subscription key,
	// all three, compared in constant time), as Vipps does; more can be
	// allowed later with AllowCredentials. Use it when the simulator is
	// reachable from a network: without an access token, no one reads
	// payments or touches webhook registrations. Default: none, any
	// non-empty credentials get a token.
	Credentials []Credentials
	// Logger receives delivery and fault messages. Default: none.
	Logger *zap.Logger
}

// Credentials are a sales unit's API keys.
type Credentials struct {
	ClientID        string
	ClientSecret    string
	SubscriptionKey string
}

// Simulator is a stateful Vipps MobilePay API: Access Token, ePayment v1,
// Webhooks v1 and Order Management, plus a landing page and the /_sim/
// control API. It is an http.Handler; Close stops its background work.
type Simulator struct {
	opts         Options
	clock        Clock
	log          *zap.Logger
	controlToken string
	j            *journal // nil without a DataDir
	tokens       tokenStore
	settings     atomic.Pointer[Settings]
	faults       faultList
	calls        callCounter
	creds        credentialSet

	mu         sync.Mutex
	seq        int64               // the last creation number given to a payment or registration
	payments   map[string]*payment // msn/reference
	waiting    int                 // payments in CREATED
	refs       refIndex
	subs       subIndex
	landing    map[string]string // landing token → payment key
	idem       map[string]*idemEntry
	idemByPay  map[string][]string // payment key → its reference's idempotency entries
	hooks      map[string]*hook
	hookSeq    map[string]int64
	hookOrder  []string
	queues     map[string]map[string]*deliveryQueue // hook id → reference → queue
	deliveries []Delivery
	receipts   map[string]*receiptEntry
	categories map[string]*categoryEntry
	images     map[string]*imageEntry // msn/imageId
	hookFaults []*WebhookFault
	timers     timerHeap

	kick chan struct{}
	stop chan struct{}
	done sync.WaitGroup
	once sync.Once
}

// New starts a simulator. It panics if Options.DataDir cannot be opened;
// use Open to handle that error.
func New(opts Options) *Simulator {
	s, err := Open(opts)
	if err != nil {
		panic(err)
	}
	return s
}

// Open starts a simulator, restoring its state from Options.DataDir when
// that is set.
func Open(opts Options) (*Simulator, error) {
	if opts.Clock == nil {
		opts.Clock = &OffsetClock{}
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.PaymentTimeout <= 0 {
		opts.PaymentTimeout = 10 * time.Minute
	}
	if len(opts.Currencies) == 0 {
		opts.Currencies = []string{"NOK", "DKK", "EUR", "SEK"}
	}
	if opts.WebhookLimitPerEvent <= 0 {
		opts.WebhookLimitPerEvent = 25
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	s := &Simulator{
		opts:         opts,
		clock:        opts.Clock,
		log:          opts.Logger,
		controlToken: opts.ControlToken,
		kick:         make(chan struct{}, 1),
		stop:         make(chan struct{}),
	}
	s.settings.Store(&Settings{ProfileDelay: Duration(opts.ProfileDelay), StrictUserinfo: opts.StrictUserinfo,
		ExpressDisabled: opts.ExpressDisabled, SubOnly: opts.SubOnly})
	if s.controlToken == "" {
		s.controlToken = randomToken()
	}
	for _, c := range opts.Credentials {
		s.creds.allow(c)
	}
	s.resetLocked()
	if opts.DataDir != "" {
		if err := s.restore(opts.DataDir); err != nil {
			return nil, err
		}
	}
	s.done.Add(1)
	go s.loop()
	return s, nil
}

func (s *Simulator) resetLocked() {
	s.tokens.reset()
	s.payments = map[string]*payment{}
	s.waiting = 0
	s.refs = newRefIndex()
	s.subs = subIndex{}
	s.landing = map[string]string{}
	s.idem = map[string]*idemEntry{}
	s.idemByPay = map[string][]string{}
	s.hooks = map[string]*hook{}
	s.hookSeq = map[string]int64{}
	s.hookOrder = nil
	s.queues = map[string]map[string]*deliveryQueue{}
	s.deliveries = nil
	s.receipts = map[string]*receiptEntry{}
	s.categories = map[string]*categoryEntry{}
	s.images = map[string]*imageEntry{}
	s.faults.clear()
	s.hookFaults = nil
	s.timers = nil
}

// Close stops expiry and webhook delivery and, with a DataDir, writes what
// is left and closes it. Stop serving requests first. It is safe to call
// twice.
func (s *Simulator) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		s.done.Wait()
		s.mu.Lock()
		s.keepClock()
		s.mu.Unlock()
		err = s.j.close()
	})
	return err
}

// ControlToken returns the token that opens the control API (/_sim/) to
// clients that are not on a loopback address.
func (s *Simulator) ControlToken() string { return s.controlToken }

// Clock returns the simulator's clock.
func (s *Simulator) Clock() Clock { return s.clock }

// Advance moves the simulator's clock forward by d and does at once what
// became due: expiries, webhook retries, retention. With a DataDir the new
// offset of the default clock is kept.
func (s *Simulator) Advance(d time.Duration) {
	s.clock.Advance(d)
	s.mu.Lock()
	s.keepClock()
	s.mu.Unlock()
	s.runDue()
	s.wake()
}

// loop runs due work: expiry, retention and webhook deliveries, and writes
// what they changed.
func (s *Simulator) loop() {
	defer s.done.Done()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.kick:
		}
		s.runDue()
		_ = s.j.flush() // a failure is logged by the journal
	}
}

func (s *Simulator) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Request body limits: images are sent in base64 inside JSON.
const (
	maxBody      = 1 << 20
	maxImageBody = 4 << 20
)

// ServeHTTP routes a request. With a DataDir, the answer waits until the
// changes the request made are written.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.j != nil {
		cw := &commitWriter{ResponseWriter: w, s: s, r: r}
		defer cw.finish()
		w = cw
	}
	p := r.URL.Path
	limit := int64(maxBody)
	if strings.EqualFold(p, imagesPath) {
		limit = maxImageBody
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	switch {
	case strings.HasPrefix(p, "/_sim/"):
		if !s.controlAllowed(r) {
			writeProblem(w, r, domainErr(http.StatusForbidden, "", "Forbidden",
				"the control API answers clients on a loopback address, and others that send Authorization: Bearer with the simulator's control token"))
			return
		}
		s.control(w, r)
	case p == "/landing" || strings.HasPrefix(p, "/landing/"):
		s.landingPage(w, r)
	case p == qrImagePath:
		s.qrImage(w, r)
	case strings.EqualFold(p, "/accesstoken/get"):
		s.withFaults(w, r, "token", s.issueToken)
	case strings.HasPrefix(p, "/epayment/v1/"):
		s.authed(w, r, true, s.epayment)
	case strings.HasPrefix(p, "/webhooks/v1/"):
		s.authed(w, r, false, s.webhooksAPI)
	case strings.HasPrefix(p, "/vipps-userinfo-api/userinfo/"):
		s.userinfoAPI(w, r)
	case strings.EqualFold(p, imagesPath):
		s.authed(w, r, true, s.imagesAPI)
	case strings.HasPrefix(strings.ToLower(p), "/order-management/v2/"):
		s.authed(w, r, true, s.orderManagement)
	default:
		writeProblem(w, r, domainErr(http.StatusNotFound, "", "Not Found", "no such endpoint in the simulator"))
	}
}

func (s *Simulator) publicURL(r *http.Request) string {
	if s.opts.PublicURL != "" {
		return strings.TrimRight(s.opts.PublicURL, "/")
	}
	return "http://" + r.Host
}
