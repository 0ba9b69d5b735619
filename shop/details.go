package shop

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// JobBuyerDetails fetches what the buyer shared (profile sharing, Express
// shipping) when the payment was authorized before Vipps showed it.
const JobBuyerDetails = "buyer_details"

// Buyer details states of an order (Order.BuyerDetails).
const (
	DetailsQueued      = "queued"
	DetailsStored      = "stored"
	DetailsUnavailable = "unavailable"
)

// detailsMaxAttempts bounds the wait for shared details: about an hour and
// a half of backoff, well inside the 168 hours Vipps keeps them, so the
// receipt of an Express order is not held back for long.
const detailsMaxAttempts = 10

// detailsPending reports whether an authorized order still waits for what
// the buyer shared: the profile it asked for, or the chosen delivery.
func detailsPending(o *state.Order) bool {
	return (o.Scope != "" && o.BuyerDetails != DetailsStored) || (o.Express && o.Shipping == nil)
}

// settleDetails takes what a payment view shares into an authorized order,
// inside its update: the chosen delivery (its price becomes part of the
// order's amount) and the buyer's details (stored apart, expiring). What is
// still missing is fetched by a JobBuyerDetails; the receipt is queued once
// the order's lines are known. It reports whether it changed the order.
func (s *Service) settleDetails(o *state.Order, tx *state.Tx, p *vipps.Payment, prev *state.Buyer, now time.Time) bool {
	if o.Payment.Authorized <= 0 {
		return false
	}
	changed := false
	if o.Express && o.Shipping == nil {
		if sh := s.catalog.chosenShipping(o, p); sh != nil {
			o.Shipping = sh
			o.Amount += sh.Amount
			changed = true
		}
	}
	if o.Scope != "" && o.BuyerDetails != DetailsStored && (p.UserDetails != nil || p.ShippingDetails != nil) {
		tx.SetBuyer(buyerFrom(prev, p.Profile.Sub, p.UserDetails, p.ShippingDetails), s.cfg.BuyerRetention)
		o.BuyerDetails = DetailsStored
		changed = true
	}
	if detailsPending(o) && o.BuyerDetails == "" {
		o.BuyerDetails = DetailsQueued
		tx.Enqueue(state.Job{Kind: JobBuyerDetails, Ref: o.Reference, NotBefore: now.Add(time.Second)})
		changed = true
	}
	if o.Receipt == "" && !(o.Express && o.Shipping == nil) {
		o.Receipt = ReceiptQueued
		tx.Enqueue(state.Job{Kind: JobReceipt, Ref: o.Reference, NotBefore: now})
		changed = true
	}
	return changed
}

// fetchDetails runs a JobBuyerDetails: it reads the payment again and, when
// Vipps has a sub but no details on the payment, asks the Userinfo API.
func (s *Service) fetchDetails(ctx context.Context, ref string) error {
	o, err := s.Order(ref)
	if err != nil {
		return err
	}
	if !detailsPending(o) {
		return nil
	}
	s.reads.take(ref, s.now(), true)
	p, err := s.vipps.GetPayment(ctx, ref)
	if err != nil {
		return s.classify("get", err)
	}
	if o.Scope != "" && p.UserDetails == nil && p.Profile.Sub != "" {
		u, err := s.vipps.Userinfo(ctx, p.Profile.Sub)
		if err != nil {
			return s.classify("userinfo", err)
		}
		p.UserDetails = userDetailsFrom(u)
	}
	prev, err := s.storedBuyer(ref)
	if err != nil {
		return err
	}
	after, _, err := s.update(ref, state.SourceWorker, func(o *state.Order, tx *state.Tx) error {
		settled := s.settleDetails(o, tx, p, prev, s.now().UTC())
		if !s.planCaptureOnPayment(o, tx, s.now().UTC()) && !settled {
			return state.ErrNoChange
		}
		tx.Note("buyer details received from vipps")
		return nil
	})
	if err != nil {
		return err
	}
	if detailsPending(after) {
		return &UnavailableError{Op: "buyer details", Err: errors.New("vipps has not shared them yet")}
	}
	return nil
}

// detailsUnavailable gives up waiting for shared details: the order says
// so, and its receipt goes out with the lines that are known.
func (s *Service) detailsUnavailable(ref string) {
	_, _, err := s.update(ref, state.SourceWorker, func(o *state.Order, tx *state.Tx) error {
		if o.BuyerDetails == DetailsStored {
			return state.ErrNoChange
		}
		o.BuyerDetails = DetailsUnavailable
		if o.Receipt == "" {
			o.Receipt = ReceiptQueued
			tx.Enqueue(state.Job{Kind: JobReceipt, Ref: o.Reference, NotBefore: s.now().UTC()})
		}
		tx.Note("vipps did not share the buyer's details")
		return nil
	})
	if err != nil {
		s.log.Error("recording missing buyer details", zap.String("reference", ref), zap.Error(err))
	}
}

// storedBuyer is what the shop holds of an order's buyer, to merge with
// what Vipps shares: nil when nothing, an error when the store cannot say,
// so that what it holds is never written over unread.
func (s *Service) storedBuyer(ref string) (*state.Buyer, error) {
	b, err := s.store.Buyer(ref)
	if errors.Is(err, state.ErrNotFound) {
		return nil, nil
	}
	return b, err
}
