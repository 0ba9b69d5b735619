package state

import (
	"fmt"
	"time"
)

// Vipps payment states, as plain strings (this package does not import the
// API client).
const (
	vippsCreated    = "CREATED"
	vippsAuthorized = "AUTHORIZED"
	vippsAborted    = "ABORTED"
	vippsExpired    = "EXPIRED"
	vippsTerminated = "TERMINATED"
)

func vippsFinal(s string) bool {
	return s == vippsAuthorized || s == vippsAborted || s == vippsExpired || s == vippsTerminated
}

// IllegalTransitionError is returned when a change would break the order's
// rules (amounts going down, more captured than reserved, a payment state
// going back); nothing is written.
type IllegalTransitionError struct {
	From, To Status
	Reason   string
}

func (e *IllegalTransitionError) Error() string {
	return fmt.Sprintf("illegal transition %s → %s: %s", e.From, e.To, e.Reason)
}

// Observation is what Vipps says about a payment at one moment.
type Observation struct {
	State        string
	Authorized   int64
	Captured     int64
	Cancelled    int64
	Refunded     int64
	PSPReference string
	At           time.Time
}

// Reserved is what is still reserved: authorized and neither captured nor
// released. Never below zero: a payment cancelled before the buyer
// approved it reports the whole amount as cancelled with nothing
// authorized, and reserves nothing.
func (p Payment) Reserved() int64 { return max(p.Authorized-p.Captured-p.Cancelled, 0) }

// Refundable is what is captured and not yet refunded.
func (p Payment) Refundable() int64 { return p.Captured - p.Refunded }

// DeriveStatus maps a payment's amounts to the status shown to people. The
// amounts are the truth; the status only names them. Before the payment
// exists at Vipps the current status (new, pending or failed) stays: an
// order is stored as pending just before its create is sent.
//
//	CREATED                                       → pending (failed if Vipps lost it)
//	ABORTED / EXPIRED                             → aborted / expired
//	TERMINATED                                    → cancelled
//	AUTHORIZED, something reserved, nothing captured → authorized
//	AUTHORIZED, something reserved, some captured    → partially_captured
//	AUTHORIZED, nothing reserved, nothing captured   → cancelled
//	AUTHORIZED, nothing reserved, nothing refunded   → captured
//	AUTHORIZED, nothing reserved, refunded some      → partially_refunded
//	AUTHORIZED, nothing reserved, refunded all       → refunded
//
// Money still reserved comes first: it is what the merchant can still act
// on (ship or release), whatever was refunded meanwhile.
func DeriveStatus(p Payment, current Status) Status {
	switch p.State {
	case vippsCreated:
		if p.Missing {
			return StatusFailed
		}
		return StatusPending
	case vippsAborted:
		return StatusAborted
	case vippsExpired:
		return StatusExpired
	case vippsTerminated:
		return StatusCancelled
	case vippsAuthorized:
		switch {
		case p.Reserved() > 0 && p.Captured == 0:
			return StatusAuthorized
		case p.Reserved() > 0:
			return StatusPartiallyCaptured
		case p.Captured == 0:
			return StatusCancelled
		case p.Refunded == 0:
			return StatusCaptured
		case p.Refunded < p.Captured:
			return StatusPartiallyRefunded
		}
		return StatusRefunded
	}
	if current == StatusFailed || current == StatusPending {
		return current
	}
	return StatusNew
}

// checkMoney enforces the money invariants: nothing negative, captured never
// more than authorized minus released, refunded never more than captured.
func checkMoney(p Payment) string {
	switch {
	case p.Authorized < 0 || p.Captured < 0 || p.Cancelled < 0 || p.Refunded < 0:
		return "negative amount"
	case p.Authorized > 0 && p.Captured > p.Authorized-p.Cancelled:
		return fmt.Sprintf("captured %d exceeds authorized %d minus released %d", p.Captured, p.Authorized, p.Cancelled)
	case p.Authorized == 0 && p.Captured > 0:
		return "captured without authorization"
	case p.Refunded > p.Captured:
		return fmt.Sprintf("refunded %d exceeds captured %d", p.Refunded, p.Captured)
	}
	return ""
}

// ApplyPayment merges an observed Vipps view into the order. Vipps is the
// ledger: whatever it reports — captures, refunds and releases made in the
// business portal included — is absorbed. The merge is monotonic, because
// every amount at Vipps only grows and its state moves only from nothing to
// CREATED to one final state: each amount takes the larger of the known and
// the observed value, so duplicate, stale and out-of-order observations (a
// webhook after a poll saw the same thing; an older answer arriving late)
// change nothing and are not errors. Only a view that Vipps cannot have given
// — a different final state than the one known (AUTHORIZED, then ABORTED), or
// amounts that break the money invariants — is an IllegalTransitionError.
// The status is derived from the result. It reports whether anything
// changed.
func (o *Order) ApplyPayment(obs Observation) (bool, error) {
	p := o.Payment
	changed := false
	if obs.State != "" && obs.State != p.State {
		switch {
		case vippsFinal(p.State) && obs.State == vippsCreated:
			// stale: an answer from before the final state
		case vippsFinal(p.State):
			return false, &IllegalTransitionError{From: o.Status, To: DeriveStatus(Payment{State: obs.State}, o.Status),
				Reason: fmt.Sprintf("vipps reported %s for a payment known to be %s", obs.State, p.State)}
		default:
			p.State = obs.State
			changed = true
		}
	}
	wasAuthorized := p.Authorized > 0
	grow := func(dst *int64, v int64) {
		if v > *dst {
			*dst = v
			changed = true
		}
	}
	grow(&p.Authorized, obs.Authorized)
	grow(&p.Captured, obs.Captured)
	grow(&p.Cancelled, obs.Cancelled)
	grow(&p.Refunded, obs.Refunded)
	if p.PSPReference == "" && obs.PSPReference != "" {
		p.PSPReference = obs.PSPReference
		changed = true
	}
	if p.Missing && obs.State != "" {
		p.Missing = false // Vipps knows it again
		changed = true
	}
	if !wasAuthorized && p.Authorized > 0 && p.AuthorizedAt.IsZero() {
		p.AuthorizedAt = obs.At
	}
	if reason := checkMoney(p); reason != "" {
		return false, &IllegalTransitionError{From: o.Status, To: o.Status, Reason: reason}
	}
	if next := DeriveStatus(p, o.Status); next != o.Status {
		o.Status = next
		changed = true
	}
	o.Payment = p
	return changed, nil
}

// validate checks a change made by an Update before it is written: amounts
// never go down and keep the money invariants, the Vipps state never goes
// back, and a failed order is never new again. The status is not checked
// here but derived (see settleStatus).
func validate(before, after *Order) error {
	fail := func(reason string) error {
		return &IllegalTransitionError{From: before.Status, To: after.Status, Reason: reason}
	}
	if after.Reference != before.Reference {
		return fail("the reference cannot change")
	}
	b, a := before.Payment, after.Payment
	if a.Authorized < b.Authorized || a.Captured < b.Captured || a.Cancelled < b.Cancelled || a.Refunded < b.Refunded {
		return fail("payment amounts never decrease")
	}
	if a.State != b.State {
		if vippsFinal(b.State) || (b.State == vippsCreated && a.State == "") {
			return fail(fmt.Sprintf("vipps state cannot go from %s to %s", b.State, a.State))
		}
	}
	if a.State == "" && before.Status == StatusFailed && after.Status == StatusNew {
		return fail("a failed order cannot be new again")
	}
	if a.State == "" && after.Status == StatusPending && before.Status != StatusPending {
		return fail("an order becomes pending when it is stored or when vipps reports its payment")
	}
	if reason := checkMoney(a); reason != "" {
		return fail(reason)
	}
	return nil
}

// settleStatus sets the status an Update leaves derived from the amounts. A
// function that set the status by hand to something the amounts do not say
// is refused; one that left it alone gets it derived.
func settleStatus(before, after *Order) error {
	derived := DeriveStatus(after.Payment, after.Status)
	if after.Status != before.Status && after.Status != derived {
		return &IllegalTransitionError{From: before.Status, To: after.Status,
			Reason: fmt.Sprintf("the payment's amounts make the order %s", derived)}
	}
	after.Status = derived
	return nil
}
