package shop

import (
	"errors"
	"fmt"
	"time"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// Kinds of state.AgainRoute.
const (
	againLink  = "link"
	againOrder = "order"
)

// againGrace is how long a route recorded on an order is taken as being
// made when its link or order cannot be found yet: the record is written
// just before the link or order, and one that is missing after this long
// was never made.
const againGrace = time.Minute

// AgainState is where an unpaid order's goods stand in being offered to
// the buyer again (see Charge.Order).
type AgainState struct {
	// Open names the link or sale at the counter (its order) that still
	// takes a payment for them; empty when none does.
	Open string
	// PaidBy is the order that paid for them; empty when none did.
	PaidBy string
}

// Offerable reports whether the goods may be offered again: nothing
// earlier is open or paid.
func (a AgainState) Offerable() bool { return a.Open == "" && a.PaidBy == "" }

// Again tells where an order's goods stand in being offered again. An
// order that never was offered again has the zero AgainState.
func (s *Service) Again(o *state.Order) (AgainState, error) {
	var st AgainState
	now := s.now()
	for _, r := range o.Again {
		open, paidBy, err := s.againRoute(r, now)
		if err != nil {
			return st, err
		}
		if paidBy != "" {
			st.PaidBy = paidBy
		}
		if open {
			st.Open = r.ID
		}
	}
	return st, nil
}

// againRoute reads one route: whether it still takes a payment, and the
// order that paid through it, if any.
func (s *Service) againRoute(r state.AgainRoute, now time.Time) (open bool, paidBy string, err error) {
	switch r.Kind {
	case againLink:
		l, err := s.store.GetLink(r.ID)
		if errors.Is(err, state.ErrNotFound) {
			return now.Sub(r.At) < againGrace, "", nil
		}
		if err != nil {
			return false, "", err
		}
		if l.Holder != "" {
			h, err := s.store.Get(l.Holder)
			if err != nil && !errors.Is(err, state.ErrNotFound) {
				return false, "", err
			}
			if h != nil && h.Payment.Authorized > 0 {
				return false, h.Reference, nil
			}
			if h != nil && h.Status.Pending() {
				return true, "", nil
			}
		}
		return l.DisabledAt.IsZero() && now.Before(l.ExpiresAt), "", nil
	case againOrder:
		h, err := s.store.Get(r.ID)
		if errors.Is(err, state.ErrNotFound) {
			return now.Sub(r.At) < againGrace, "", nil
		}
		if err != nil {
			return false, "", err
		}
		if h.Payment.Authorized > 0 {
			return false, h.Reference, nil
		}
		return h.Status.Pending(), "", nil
	}
	return false, "", fmt.Errorf("unknown kind %q of an offer again", r.Kind)
}

// errAgainMoved: another route was recorded between reading the order's
// routes and recording a new one.
var errAgainMoved = errors.New("the order was offered again meanwhile")

// offerAgain records on the unpaid order ref that its goods are offered
// again through route, before the link or order of that route is written:
// refused (a StateError) while an earlier route still takes a payment or
// once one was paid, so that the same goods are never paid twice, whoever
// asks at the same time. The routes are read outside the order's
// transaction and the record is made only if none was added meanwhile.
func (s *Service) offerAgain(ref string, route state.AgainRoute) error {
	for range 5 {
		o, err := s.Order(ref)
		if err != nil {
			return err
		}
		for _, r := range o.Again {
			if r.Kind == route.Kind && r.ID == route.ID {
				return nil // recorded by an earlier try of the same request
			}
		}
		if err := payableAgain(o); err != nil {
			return err
		}
		st, err := s.Again(o)
		if err != nil {
			return err
		}
		switch {
		case st.PaidBy != "":
			return &StateError{Reference: ref, Status: string(o.Status), Reason: fmt.Sprintf("its goods were paid again by order %s", st.PaidBy)}
		case st.Open != "":
			return &StateError{Reference: ref, Status: string(o.Status), Reason: fmt.Sprintf("%s still takes the payment for its goods; disable it (or let it end) first", st.Open)}
		}
		seen := len(o.Again)
		_, _, err = s.update(ref, state.SourceMerchant, func(o *state.Order, tx *state.Tx) error {
			if len(o.Again) != seen {
				return errAgainMoved
			}
			if err := payableAgain(o); err != nil {
				return err
			}
			o.Again = append(o.Again, route)
			tx.Note("offered again: %s %s", route.Kind, route.ID)
			return nil
		})
		if !errors.Is(err, errAgainMoved) {
			return storeFailure("payment link", err)
		}
	}
	return ErrInProgress
}

// payableAgain refuses an order whose own payment was made or still waits
// for the buyer: only an order whose payment failed, was rejected or
// expired is offered again.
func payableAgain(o *state.Order) error {
	if o.Payment.Authorized > 0 || !o.Status.Final() {
		reason := "its buyer has paid it; a link is for an order whose payment failed, was rejected or expired"
		if !o.Status.Final() {
			reason = "its payment still waits for the buyer; a link is for an order whose payment failed, was rejected or expired"
		}
		return &StateError{Reference: o.Reference, Status: string(o.Status), Reason: reason}
	}
	return nil
}
