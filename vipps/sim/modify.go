package sim

import (
	"net/http"
	"time"

	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// captureWindow is the reservation's lifetime: 180 days for Vipps (NOK,
// SEK), 14 days for MobilePay (DKK, EUR).
func captureWindow(currency string) time.Duration {
	if currency == "DKK" || currency == "EUR" {
		return 14 * 24 * time.Hour
	}
	return 180 * 24 * time.Hour
}

// modify serves capture, cancel and refund.
func (s *Simulator) modify(w http.ResponseWriter, r *http.Request, msn, ref, op string) {
	body, aerr := readBody(r)
	if aerr != nil {
		writeProblem(w, r, aerr)
		return
	}
	var mod vipps.ModificationRequest
	var cancel vipps.CancelRequest
	var decodeErr *apiError
	if op == "cancel" {
		if len(body) > 0 {
			decodeErr = decodeStrict(body, &cancel)
		}
	} else {
		decodeErr = decodeStrict(body, &mod)
	}
	key := r.Header.Get("Idempotency-Key")
	s.idempotent(w, r, msn, op, ref, key, body, func(k string) (int, any, *apiError) {
		if decodeErr != nil {
			return 0, nil, decodeErr
		}
		p := s.findKey(k)
		if p == nil {
			return 0, nil, notFound(ref)
		}
		var e *apiError
		switch op {
		case "capture":
			e = s.capture(p, mod.ModificationAmount, key)
		case "refund":
			e = s.refund(p, mod.ModificationAmount, key)
		default:
			e = s.cancel(p, cancel.CancelTransactionOnly, key)
		}
		if e != nil {
			return 0, nil, e
		}
		return http.StatusOK, p.modification(), nil
	})
}

func checkAmount(p *payment, a vipps.Amount) *apiError {
	if a.Currency != p.Req.Amount.Currency {
		return validationErr("modificationAmount.currency", "The currency must be the payment's currency.")
	}
	if a.Value <= 0 {
		return validationErr("modificationAmount.value", "The amount must be positive.")
	}
	return nil
}

func (s *Simulator) capture(p *payment, a vipps.Amount, key string) *apiError {
	if e := checkAmount(p, a); e != nil {
		return e
	}
	if p.State != vipps.StateAuthorized {
		return domainErr(http.StatusBadRequest, "6080", "Cannot capture before reservation", "The amount you tried to capture is not reserved.")
	}
	if p.Cancelled > 0 {
		return domainErr(http.StatusBadRequest, "6070", "Cannot capture a cancelled payment", "The payment is cancelled.")
	}
	if s.clock.Now().After(p.AuthorizedAt.Add(captureWindow(p.Req.Amount.Currency))) {
		return domainErr(http.StatusBadRequest, "6100", "Capture period expired", "The reservation has expired.")
	}
	if p.Captured+a.Value > p.Authorized-p.Cancelled {
		return domainErr(http.StatusBadRequest, "6090", "Capture amount too high", "The capture exceeds the remaining reserved amount.")
	}
	p.Captured += a.Value
	s.record(p, vipps.EventCaptured, a.Value, key)
	return nil
}

func (s *Simulator) cancel(p *payment, transactionOnly bool, key string) *apiError {
	switch p.State {
	case vipps.StateCreated:
		p.State = vipps.StateTerminated
		p.Cancelled = p.Req.Amount.Value
		s.record(p, vipps.EventTerminated, p.Req.Amount.Value, key)
		return nil
	case vipps.StateAuthorized:
	default:
		return domainErr(http.StatusBadRequest, "6190", "Payment cannot be cancelled", "A payment that is "+string(p.State)+" cannot be cancelled.")
	}
	if transactionOnly {
		return domainErr(http.StatusBadRequest, "6060", "Cannot cancel authorized payment", "cancelTransactionOnly is set and the payment is authorized.")
	}
	if s.clock.Now().After(p.AuthorizedAt.Add(captureWindow(p.Req.Amount.Currency))) {
		return domainErr(http.StatusBadRequest, "6030", "Cancel period expired", "The reservation has expired.")
	}
	rest := p.Authorized - p.Captured - p.Cancelled
	if rest <= 0 {
		return domainErr(http.StatusBadRequest, "6040", "Cannot cancel a captured payment", "Nothing is left to release; refund instead.")
	}
	p.Cancelled += rest
	if s.settings.Load().CancelledWithoutKey {
		key = ""
	}
	s.record(p, vipps.EventCancelled, rest, key)
	return nil
}

func (s *Simulator) refund(p *payment, a vipps.Amount, key string) *apiError {
	if e := checkAmount(p, a); e != nil {
		return e
	}
	if p.State != vipps.StateAuthorized {
		return domainErr(http.StatusBadRequest, "6020", "Attempted refund before reservation", "The payment is not reserved.")
	}
	if p.Captured == 0 {
		return domainErr(http.StatusBadRequest, "6210", "Payment cannot be refunded", "Nothing is captured.")
	}
	if s.clock.Now().After(p.AuthorizedAt.Add(365 * 24 * time.Hour)) {
		return domainErr(http.StatusBadRequest, "6220", "Refund period expired", "The refund window has closed.")
	}
	if p.Refunded+a.Value > p.Captured {
		return domainErr(http.StatusBadRequest, "6150", "Not enough refundable", "The refund exceeds the captured amount not yet refunded.")
	}
	p.Refunded += a.Value
	s.record(p, vipps.EventRefunded, a.Value, key)
	return nil
}

// Approval is what the buyer decides in the app.
type Approval struct {
	// User is the phone number of the TestUser who approves. Default: the
	// customer the merchant named, else the user of the currency's market.
	User string `json:"user,omitempty"`
	// DeclineConsent refuses to share the profile the payment asks for,
	// which aborts the payment, as in the app.
	DeclineConsent bool `json:"decline_consent,omitempty"`
	// ShippingOption is the id of the chosen Express option. Default: the
	// preselected one.
	ShippingOption string `json:"shipping_option,omitempty"`
}

// approveLocked authorizes a CREATED payment as the buyer would, with the
// default choices.
func (s *Simulator) approveLocked(p *payment) *apiError { return s.approveWith(p, Approval{}) }

// approveWith authorizes a CREATED payment: with a profile scope only if
// the buyer consents (refusal aborts it), and for Express with the chosen
// shipping option added to the authorized amount.
func (s *Simulator) approveWith(p *payment, a Approval) *apiError {
	s.expireLocked(p)
	if p.State == vipps.StateAuthorized {
		return domainErr(http.StatusBadRequest, "6230", "Payment is already reserved", "The payment is already authorized.")
	}
	if p.State != vipps.StateCreated {
		return domainErr(http.StatusBadRequest, "10020", "Approve not allowed", "A payment that is "+string(p.State)+" cannot be approved.")
	}
	user := defaultUser(p)
	if a.User != "" {
		u, ok := testUser(a.User)
		if !ok {
			return validationErr("user", "No test user has the phone number "+a.User+".")
		}
		user = u
	}
	var ship *vipps.ShippingOption
	if p.Req.Shipping != nil {
		id := a.ShippingOption
		if id == "" {
			id = p.defaultShipping()
		}
		o, ok := p.shippingOption(id)
		if !ok {
			return validationErr("shipping_option", "The payment has no shipping option "+id+".")
		}
		ship = &o
	}
	if len(p.scopeSet()) > 0 {
		if a.DeclineConsent {
			return s.rejectLocked(p)
		}
		p.User, p.Sub = &user, subFor(p.MSN, user.Phone)
	}
	p.Shipping = ship
	p.State = vipps.StateAuthorized
	p.Authorized = p.total().Value
	p.AuthorizedAt = s.clock.Now()
	if p.Sub != "" {
		s.subs.add(p)
	}
	s.record(p, vipps.EventAuthorized, p.Authorized, p.Events[0].IdempotencyKey)
	return nil
}

// rejectLocked aborts a CREATED payment as the buyer would.
func (s *Simulator) rejectLocked(p *payment) *apiError {
	s.expireLocked(p)
	if p.State != vipps.StateCreated {
		return domainErr(http.StatusBadRequest, "10020", "Reject not allowed", "A payment that is "+string(p.State)+" cannot be rejected.")
	}
	p.State = vipps.StateAborted
	s.record(p, vipps.EventAborted, p.Req.Amount.Value, "")
	return nil
}

// forceApprove serves POST /epayment/v1/test/payments/{ref}/approve. The
// body names who approves: a customer (its phone number as a string or a
// number), or the token of the payment's redirectUrl. A test buyer's
// number makes that buyer the payer; another number approves as the
// default buyer, since the simulator has no other users. With a customer
// the token is not needed and not checked (Vipps' own published request
// sends both, the token never filled in); a token alone must be the
// payment's.
func (s *Simulator) forceApprove(w http.ResponseWriter, r *http.Request, msn, ref string) {
	body, aerr := readBody(r)
	if aerr != nil {
		writeProblem(w, r, aerr)
		return
	}
	var req vipps.ForceApproveRequest
	if len(body) > 0 {
		var e *apiError
		if req, e = decodeForceApprove(body); e != nil {
			writeProblem(w, r, e)
			return
		}
	}
	var by Approval
	if c := req.Customer; c != nil && c.PhoneNumber != "" {
		if !phonePattern.MatchString(c.PhoneNumber) {
			writeProblem(w, r, invalidPhone())
			return
		}
		if _, known := testUser(c.PhoneNumber); known {
			by.User = c.PhoneNumber
		}
	}
	s.mu.Lock()
	p := s.find(msn, ref)
	var e *apiError
	switch {
	case p == nil:
		e = notFound(ref)
	case p.Req.Shipping != nil:
		e = domainErr(http.StatusBadRequest, "10010", "Approve failed", "Express payments cannot be force approved; use the landing page.")
	case req.Customer == nil && req.Token != "" && req.Token != p.LandingToken:
		e = domainErr(http.StatusBadRequest, "10010", "Approve failed", "The token does not belong to this payment.")
	default:
		e = s.approveWith(p, by)
	}
	s.mu.Unlock()
	s.wake()
	if e != nil {
		writeProblem(w, r, e)
		return
	}
	w.WriteHeader(http.StatusOK)
}
