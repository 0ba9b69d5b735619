package sim

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// payment is the simulator's record of one ePayment. Its JSON form is the
// record kept in the data directory.
type payment struct {
	Seq          int64                      `json:"seq"` // creation order
	MSN          string                     `json:"msn"`
	Req          vipps.CreatePaymentRequest `json:"request"`
	State        vipps.PaymentState         `json:"state"`
	Authorized   int64                      `json:"authorized"`
	Captured     int64                      `json:"captured"`
	Cancelled    int64                      `json:"cancelled"`
	Refunded     int64                      `json:"refunded"`
	PSPReference string                     `json:"pspReference"`
	CreatedAt    time.Time                  `json:"createdAt"`
	AuthorizedAt time.Time                  `json:"authorizedAt"`
	Events       []vipps.PaymentEvent       `json:"events"`
	LandingToken string                     `json:"landingToken,omitempty"`
	// User is who approved, when the payment asked for profile data and
	// the buyer consented; Sub is that user's sub for the sales unit.
	User *TestUser `json:"user,omitempty"`
	Sub  string    `json:"sub,omitempty"`
	// Shipping is the option chosen in an Express payment.
	Shipping *vipps.ShippingOption `json:"shipping,omitempty"`

	forgetArmed bool // a timerForget is set for it
	forgotten   bool // dropped by retention; indexes skip it
}

// total is what the buyer pays: the create amount plus the chosen shipping.
func (p *payment) total() vipps.Amount {
	a := p.Req.Amount
	if p.Shipping != nil {
		a.Value += p.Shipping.Amount.Value
	}
	return a
}

func payKey(msn, ref string) string { return msn + "/" + ref }

var referencePattern = regexp.MustCompile(`^[a-zA-Z0-9-]{8,64}$`)
var phonePattern = regexp.MustCompile(`^\d{10,15}$`)

// invalidPhone is Vipps' answer to a phone number that is not an MSISDN.
func invalidPhone() *apiError {
	return domainErr(http.StatusBadRequest, "4070", "Invalid phone number", "The phone number must be an MSISDN: country code and number, digits only.")
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func (p *payment) amount(v int64) vipps.Amount {
	return vipps.Amount{Currency: p.Req.Amount.Currency, Value: v}
}

func (p *payment) aggregate() vipps.Aggregate {
	return vipps.Aggregate{
		AuthorizedAmount: p.amount(p.Authorized),
		CancelledAmount:  p.amount(p.Cancelled),
		CapturedAmount:   p.amount(p.Captured),
		RefundedAmount:   p.amount(p.Refunded),
	}
}

func (p *payment) view(base string, profileVisible, subOnly bool) vipps.Payment {
	v := vipps.Payment{
		Aggregate:     p.aggregate(),
		Amount:        p.total(),
		State:         p.State,
		PaymentMethod: p.Req.PaymentMethod,
		PSPReference:  p.PSPReference,
		Reference:     p.Req.Reference,
		Metadata:      p.Req.Metadata,
	}
	if p.State == vipps.StateCreated && p.LandingToken != "" && p.Req.UserFlow != vipps.UserFlowPushMessage {
		v.RedirectURL = base + "/landing?token=" + p.LandingToken
	}
	if profileVisible {
		if p.shares() {
			v.Profile.Sub = p.Sub
		}
		if !subOnly {
			v.UserDetails = p.userDetails()
		}
		v.ShippingDetails = p.shippingDetails()
	}
	return v
}

// profileVisible reports whether the shared profile of p shows yet: Vipps
// writes it a moment after authorization (Options.ProfileDelay).
func (s *Simulator) profileVisible(p *payment) bool {
	return p.shares() && !s.clock.Now().Before(p.AuthorizedAt.Add(time.Duration(s.settings.Load().ProfileDelay)))
}

func (p *payment) modification() vipps.ModificationResponse {
	return vipps.ModificationResponse{Amount: p.total(), State: p.State, Aggregate: p.aggregate(), PSPReference: p.PSPReference, Reference: p.Req.Reference}
}

func eventPSP() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(9_000_000_000))
	return fmt.Sprint(1_000_000_000 + n.Int64())
}

// record appends an event, queues its webhooks and writes the payment to
// the journal; call with s.mu held, after the change the event reports.
// Every change of a payment ends with a call of record.
func (s *Simulator) record(p *payment, name vipps.EventName, amount int64, key string) {
	psp := eventPSP()
	if name == vipps.EventCreated {
		psp = p.PSPReference
	}
	ev := vipps.PaymentEvent{
		Reference: p.Req.Reference, PSPReference: psp, Name: name, Amount: p.amount(amount),
		Timestamp: s.clock.Now(), IdempotencyKey: key, Success: true,
	}
	p.Events = append(p.Events, ev)
	switch name {
	case vipps.EventCreated:
		s.waiting++
	case vipps.EventAuthorized, vipps.EventAborted, vipps.EventExpired, vipps.EventTerminated:
		s.waiting--
	}
	s.enqueueWebhooks(p, ev)
	s.keep(p)
}

// keep writes a payment to the journal and arms its retention; call with
// s.mu held.
func (s *Simulator) keep(p *payment) {
	if s.j != nil {
		snapshot := *p // events are only ever appended, so the copy stays valid
		s.j.put(recPayment, payKey(p.MSN, p.Req.Reference), &snapshot)
	}
	s.armForget(p)
}

// epayment routes /epayment/v1/.
func (s *Simulator) epayment(w http.ResponseWriter, r *http.Request, msn string) {
	rest := strings.TrimPrefix(r.URL.Path, "/epayment/v1/")
	parts := strings.Split(rest, "/")
	switch {
	case rest == "payments" && r.Method == http.MethodPost:
		s.withFaults(w, r, "create", func(w http.ResponseWriter, r *http.Request) { s.createPayment(w, r, msn) })
	case len(parts) == 2 && parts[0] == "payments" && r.Method == http.MethodGet:
		s.withFaults(w, r, "get", func(w http.ResponseWriter, r *http.Request) { s.getPayment(w, r, msn, parts[1]) })
	case len(parts) == 3 && parts[0] == "payments" && parts[2] == "events" && r.Method == http.MethodGet:
		s.withFaults(w, r, "events", func(w http.ResponseWriter, r *http.Request) { s.getEvents(w, r, msn, parts[1]) })
	case len(parts) == 3 && parts[0] == "payments" && r.Method == http.MethodPost && slices.Contains([]string{"capture", "cancel", "refund"}, parts[2]):
		op := parts[2]
		s.withFaults(w, r, op, func(w http.ResponseWriter, r *http.Request) { s.modify(w, r, msn, parts[1], op) })
	case len(parts) == 4 && parts[0] == "test" && parts[1] == "payments" && parts[3] == "approve" && r.Method == http.MethodPost:
		s.withFaults(w, r, "approve", func(w http.ResponseWriter, r *http.Request) { s.forceApprove(w, r, msn, parts[2]) })
	default:
		writeProblem(w, r, domainErr(http.StatusNotFound, "", "Not Found", "no such ePayment endpoint"))
	}
}

func (s *Simulator) createPayment(w http.ResponseWriter, r *http.Request, msn string) {
	body, aerr := readBody(r)
	if aerr != nil {
		writeProblem(w, r, aerr)
		return
	}
	// Everything that needs no shared state happens before the lock.
	req, invalid := decodeCreate(body)
	if invalid == nil {
		invalid = s.validateCreate(&req)
	}
	if invalid == nil {
		s.shareValues(&req)
	}
	key := r.Header.Get("Idempotency-Key")
	base := s.publicURL(r)
	psp := uuid.NewString()
	landing := strings.ReplaceAll(uuid.NewString(), "-", "") + strings.ReplaceAll(uuid.NewString(), "-", "")
	s.idempotent(w, r, msn, "create", req.Reference, key, body, func(k string) (int, any, *apiError) {
		if invalid != nil {
			return 0, nil, invalid
		}
		if s.payments[k] != nil {
			return 0, nil, domainErr(http.StatusConflict, "4150", "Reference exists", "A payment with reference "+req.Reference+" already exists")
		}
		s.seq++
		p := &payment{Seq: s.seq, MSN: msn, Req: req, State: vipps.StateCreated, PSPReference: psp, CreatedAt: s.clock.Now()}
		// Every payment gets a landing token: a push payment's page is
		// found from the push inbox, and is never sent to the merchant.
		p.LandingToken = landing
		resp := vipps.CreatePaymentResponse{Reference: req.Reference, RedirectURL: redirectURL(base, &req, landing)}
		s.addPayment(k, p)
		s.record(p, vipps.EventCreated, req.Amount.Value, key)
		return http.StatusCreated, resp, nil
	})
}

// addPayment indexes a payment and sets the timer of its deadline; call
// with s.mu held.
func (s *Simulator) addPayment(k string, p *payment) {
	s.payments[k] = p
	s.refs.add(p)
	if p.LandingToken != "" {
		s.landing[p.LandingToken] = k
	}
	if p.Sub != "" {
		s.subs.add(p)
	}
	if p.State == vipps.StateCreated {
		s.schedule(p.deadline(s.opts.PaymentTimeout), timerExpire, k)
	}
}

var minimumAmount = map[string]int64{"NOK": 100, "SEK": 100, "DKK": 1, "EUR": 1}

var scopes = []string{"name", "address", "email", "phoneNumber", "birthDate"}

// validateCreate applies Vipps' rules for a create request.
func (s *Simulator) validateCreate(req *vipps.CreatePaymentRequest) *apiError {
	if !referencePattern.MatchString(req.Reference) {
		return validationErr("reference", "The reference must match ^[a-zA-Z0-9-]{8,64}$.")
	}
	if req.Amount.Currency == "" {
		return validationErr("amount.currency", "The currency is required.")
	}
	if !slices.Contains(s.opts.Currencies, req.Amount.Currency) {
		return domainErr(http.StatusBadRequest, "5040", "Invalid currency for merchant", "The currency "+req.Amount.Currency+" is not supported for this sales unit.")
	}
	if req.Amount.Value < 0 || req.Amount.Value > 65_000_000 {
		return validationErr("amount.value", "The amount must be between 0 and 65000000.")
	}
	if req.Amount.Value < minimumAmount[req.Amount.Currency] {
		return domainErr(http.StatusBadRequest, "6010", "Amount too small", "The amount is below the minimum for the currency.")
	}
	switch req.PaymentMethod.Type {
	case vipps.PaymentMethodWallet, vipps.PaymentMethodCard:
	default:
		return validationErr("paymentMethod.type", "The payment method type must be WALLET or CARD.")
	}
	switch req.UserFlow {
	case vipps.UserFlowWebRedirect, vipps.UserFlowNativeRedirect, vipps.UserFlowQR:
	case vipps.UserFlowPushMessage:
		if req.Customer == nil {
			return domainErr(http.StatusBadRequest, "4140", "Missing required parameter", "customer is required for PUSH_MESSAGE.")
		}
		if s.settings.Load().PushDisabled {
			return domainErr(http.StatusBadRequest, "5080", "PUSH_MESSAGE not allowed", "The sales unit is not allowed to skip the landing page.")
		}
	default:
		return validationErr("userFlow", "The userFlow must be WEB_REDIRECT, NATIVE_REDIRECT, PUSH_MESSAGE or QR.")
	}
	if e := validateQRFormat(req); e != nil {
		return e
	}
	if req.PaymentMethod.Type == vipps.PaymentMethodCard && req.UserFlow != vipps.UserFlowWebRedirect {
		return domainErr(http.StatusBadRequest, "4160", "Invalid payment method type", "CARD supports only WEB_REDIRECT.")
	}
	if req.UserFlow == vipps.UserFlowWebRedirect || req.UserFlow == vipps.UserFlowNativeRedirect {
		if req.ReturnURL == "" {
			return domainErr(http.StatusBadRequest, "4140", "Missing required parameter", "returnUrl is required for "+req.UserFlow+".")
		}
	}
	if req.ReturnURL != "" && !validReturnURL(req.ReturnURL) {
		return domainErr(http.StatusBadRequest, "4090", "Invalid URL", "The returnUrl is not a valid URL.")
	}
	if d := req.PaymentDescription; d != "" && (len([]rune(d)) < 3 || len([]rune(d)) > 100) {
		return validationErr("paymentDescription", "The field PaymentDescription must be a string with a minimum length of 3 and a maximum length of 100")
	}
	if c := req.Customer; c != nil {
		set := 0
		for _, v := range []string{c.PhoneNumber, c.PersonalQr, c.CustomerToken} {
			if v != "" {
				set++
			}
		}
		if set != 1 {
			return validationErr("customer", "Exactly one of phoneNumber, personalQr and customerToken must be set.")
		}
		if c.PhoneNumber != "" && !phonePattern.MatchString(c.PhoneNumber) {
			return invalidPhone()
		}
		if _, known := testUser(c.PhoneNumber); req.UserFlow == vipps.UserFlowPushMessage && !known {
			// Vipps cannot push to a number without the app, and says
			// no more than that.
			return domainErr(http.StatusBadRequest, "7010", "Customer not found", "The phone number does not belong to a Vipps user, or the user cannot pay businesses.")
		}
	}
	if len(req.Metadata) > 5 {
		return domainErr(http.StatusBadRequest, "4100", "Metadata capacity exceeded", "At most 5 metadata entries are allowed.")
	}
	for k, v := range req.Metadata {
		if len(k) > 100 {
			return domainErr(http.StatusBadRequest, "4120", "Metadata key length exceeded", "Metadata keys are at most 100 characters.")
		}
		if len(v) > 500 {
			return domainErr(http.StatusBadRequest, "4130", "Metadata value length exceeded", "Metadata values are at most 500 characters.")
		}
	}
	if req.Profile != nil {
		for _, sc := range strings.Fields(req.Profile.Scope) {
			if sc == "nin" || sc == "accountNumbers" {
				return domainErr(http.StatusBadRequest, "5030", "Illegal scope", "The sales unit may not request "+sc+".")
			}
			if !slices.Contains(scopes, sc) {
				return domainErr(http.StatusBadRequest, "4080", "Invalid scope", "Unknown scope "+sc+".")
			}
		}
	}
	if req.Shipping != nil {
		if e := s.validateShipping(req); e != nil {
			return e
		}
	}
	if req.ExpiresAt != nil {
		if req.Receipt == nil {
			return domainErr(http.StatusBadRequest, "6130", "Long living payments require a receipt", "expiresAt needs a receipt.")
		}
		until := req.ExpiresAt.Sub(s.clock.Now())
		if until < 10*time.Minute {
			return domainErr(http.StatusBadRequest, "6120", "Expiration date is too soon", "expiresAt must be more than 10 minutes ahead.")
		}
		if until > 60*24*time.Hour {
			return domainErr(http.StatusBadRequest, "6110", "Expiration date is too late", "expiresAt must be less than 60 days ahead.")
		}
	}
	return nil
}

// validReturnURL accepts https, custom app schemes and, as a documented
// leniency for shops running on localhost, plain http.
func validReturnURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return false
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		return u.Host != ""
	}
	return true
}

// find returns the payment for (msn, ref), expiring it first if due.
func (s *Simulator) find(msn, ref string) *payment { return s.findKey(payKey(msn, ref)) }

// findKey returns the payment with a key of payKey, expiring it first if
// due.
func (s *Simulator) findKey(k string) *payment {
	p := s.payments[k]
	if p != nil {
		s.expireLocked(p)
	}
	return p
}

// userFlows are the values of userFlow.
var userFlows = []string{vipps.UserFlowWebRedirect, vipps.UserFlowNativeRedirect, vipps.UserFlowPushMessage, vipps.UserFlowQR}

// shareValues points the fields of a valid request that take one of a few
// values at one copy of each, so that the payments a large simulator holds
// are fewer objects for the collector to visit.
func (s *Simulator) shareValues(req *vipps.CreatePaymentRequest) {
	share := func(v *string, values []string) {
		if i := slices.Index(values, *v); i >= 0 {
			*v = values[i]
		}
	}
	share(&req.Amount.Currency, s.opts.Currencies)
	share(&req.PaymentMethod.Type, []string{vipps.PaymentMethodWallet, vipps.PaymentMethodCard})
	share(&req.UserFlow, userFlows)
}

func notFound(ref string) *apiError {
	return domainErr(http.StatusNotFound, "5090", "Reference not found", "No payment with reference "+ref+" was found")
}

func (s *Simulator) getPayment(w http.ResponseWriter, r *http.Request, msn, ref string) {
	s.mu.Lock()
	p := s.find(msn, ref)
	var v vipps.Payment
	if p != nil {
		v = p.view(s.publicURL(r), s.profileVisible(p), s.settings.Load().SubOnly)
	}
	s.mu.Unlock()
	if p == nil {
		writeProblem(w, r, notFound(ref))
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Simulator) getEvents(w http.ResponseWriter, r *http.Request, msn, ref string) {
	s.mu.Lock()
	p := s.find(msn, ref)
	var evs []vipps.PaymentEvent
	if p != nil {
		evs = slices.Clone(p.Events)
	}
	s.mu.Unlock()
	if p == nil {
		writeProblem(w, r, notFound(ref))
		return
	}
	writeJSON(w, http.StatusOK, evs)
}

// deadline is when a CREATED payment expires: its expiresAt, else the
// payment timeout after creation.
func (p *payment) deadline(timeout time.Duration) time.Time {
	if p.Req.ExpiresAt != nil {
		return *p.Req.ExpiresAt
	}
	return p.CreatedAt.Add(timeout)
}

// expireLocked moves a CREATED payment past its deadline to EXPIRED.
func (s *Simulator) expireLocked(p *payment) {
	if p.State != vipps.StateCreated || s.clock.Now().Before(p.deadline(s.opts.PaymentTimeout)) {
		return
	}
	p.State = vipps.StateExpired
	s.record(p, vipps.EventExpired, p.Req.Amount.Value, "")
}
