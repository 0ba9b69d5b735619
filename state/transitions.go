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

// legal lists, for each status, the statuses it may move to. An
// observation may skip steps (the first thing the shop learns about a
// payment can be that it is already captured), but nothing goes back, and
// the failure outcomes (aborted, expired, cancelled) and refunded are final.
var legal = map[Status][]Status{
	StatusNew: {StatusPending, StatusFailed, StatusAuthorized, StatusPartiallyCaptured, StatusCaptured,
		StatusPartiallyRefunded, StatusRefunded, StatusCancelled, StatusAborted, StatusExpired},
	// A failed order is one whose create call was refused or never landed;
	// should Vipps nevertheless report the payment, the order follows it.
	StatusFailed: {StatusPending, StatusAuthorized, StatusPartiallyCaptured, StatusCaptured,
		StatusPartiallyRefunded, StatusRefunded, StatusCancelled, StatusAborted, StatusExpired},
	StatusPending: {StatusAuthorized, StatusPartiallyCaptured, StatusCaptured, StatusPartiallyRefunded,
		StatusRefunded, StatusCancelled, StatusAborted, StatusExpired},
	StatusAuthorized:        {StatusPartiallyCaptured, StatusCaptured, StatusPartiallyRefunded, StatusRefunded, StatusCancelled},
	StatusPartiallyCaptured: {StatusCaptured, StatusPartiallyRefunded, StatusRefunded},
	StatusCaptured:          {StatusPartiallyRefunded, StatusRefunded},
	StatusPartiallyRefunded: {StatusRefunded},
}

// CanTransition reports whether an order may move from one status to
// another. Staying in the same status is always allowed.
func CanTransition(from, to Status) bool {
	if from == to {
		return true
	}
	for _, s := range legal[from] {
		if s == to {
			return true
		}
	}
	return false
}

// IllegalTransitionError is returned when a change would break the order's
// rules; nothing is written.
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

// DeriveStatus maps a payment view to the order status. Before the payment
// exists at Vipps the current status (new or failed) stays.
//
//	CREATED                                  → pending
//	ABORTED / EXPIRED                        → aborted / expired
//	TERMINATED                               → cancelled
//	AUTHORIZED, refunded all captured money  → refunded
//	AUTHORIZED, refunded some                → partially_refunded
//	AUTHORIZED, captured + released = all    → captured
//	AUTHORIZED, captured some                → partially_captured
//	AUTHORIZED, released everything          → cancelled
//	AUTHORIZED otherwise                     → authorized
func DeriveStatus(p Payment, current Status) Status {
	switch p.State {
	case vippsCreated:
		return StatusPending
	case vippsAborted:
		return StatusAborted
	case vippsExpired:
		return StatusExpired
	case vippsTerminated:
		return StatusCancelled
	case vippsAuthorized:
		switch {
		case p.Refunded > 0 && p.Refunded >= p.Captured:
			return StatusRefunded
		case p.Refunded > 0:
			return StatusPartiallyRefunded
		case p.Captured > 0 && p.Captured+p.Cancelled >= p.Authorized:
			return StatusCaptured
		case p.Captured > 0:
			return StatusPartiallyCaptured
		case p.Cancelled > 0:
			return StatusCancelled
		}
		return StatusAuthorized
	}
	return current
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

// ApplyPayment merges an observed Vipps view into the order. The merge is
// monotonic: amounts only grow and the state only moves from nothing to
// CREATED to one final state, so duplicate, stale and out-of-order
// observations (a webhook after a poll saw the same thing; an older answer
// arriving late) change nothing and are not errors. A different final state
// than the one known (AUTHORIZED, then ABORTED) is an IllegalTransitionError.
// It reports whether anything changed.
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
	if !wasAuthorized && p.Authorized > 0 {
		p.AuthorizedAt = obs.At
	}
	if reason := checkMoney(p); reason != "" {
		return false, &IllegalTransitionError{From: o.Status, To: o.Status, Reason: reason}
	}
	next := DeriveStatus(p, o.Status)
	if !CanTransition(o.Status, next) {
		return false, &IllegalTransitionError{From: o.Status, To: next, Reason: "not allowed"}
	}
	if next != o.Status {
		o.Status = next
		changed = true
	}
	o.Payment = p
	return changed, nil
}

// validate checks a change made by an Update before it is written.
func validate(before, after *Order) error {
	if after.Reference != before.Reference {
		return &IllegalTransitionError{From: before.Status, To: after.Status, Reason: "the reference cannot change"}
	}
	if !CanTransition(before.Status, after.Status) {
		return &IllegalTransitionError{From: before.Status, To: after.Status, Reason: "not allowed"}
	}
	b, a := before.Payment, after.Payment
	if a.Authorized < b.Authorized || a.Captured < b.Captured || a.Cancelled < b.Cancelled || a.Refunded < b.Refunded {
		return &IllegalTransitionError{From: before.Status, To: after.Status, Reason: "payment amounts never decrease"}
	}
	if a.State != b.State {
		if vippsFinal(b.State) || (b.State == vippsCreated && a.State == "") {
			return &IllegalTransitionError{From: before.Status, To: after.Status, Reason: fmt.Sprintf("vipps state cannot go from %s to %s", b.State, a.State)}
		}
	}
	if reason := checkMoney(a); reason != "" {
		return &IllegalTransitionError{From: before.Status, To: after.Status, Reason: reason}
	}
	return nil
}
