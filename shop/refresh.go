package shop

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

var timeZero time.Time

// Grace periods for an order whose create call had an unknown outcome.
const (
	firstCheckDelay = 5 * time.Second
	// createGrace is how long a "new" order may be missing at Vipps before it
	// is marked failed: long enough for any in-flight retry of the create
	// call to have landed.
	createGrace = 2 * time.Minute
)

// Refresh asks Vipps for the payment and feeds what it says to the order's
// arbiter: the outbox (after a webhook that could not be handled) and the
// operations come through here, so they can race freely: duplicate and
// stale views are no-ops. Its read counts against the order's read budget
// (see readBudget) but is never refused; the pages and the merchant go
// through the budget (Returned, RefreshIfStale, CheckAtVipps).
func (s *Service) Refresh(ctx context.Context, ref string, src state.Source) (*state.Order, error) {
	cur, err := s.Order(ref)
	if err != nil {
		return nil, err
	}
	return s.mustRead(ctx, cur, src)
}

// mustRead is readPayment for a caller whose read is never refused (see
// Refresh).
func (s *Service) mustRead(ctx context.Context, cur *state.Order, src state.Source) (*state.Order, error) {
	s.reads.take(cur.Reference, s.now(), true)
	return s.readPayment(ctx, cur, src)
}

// Returned is the order a buyer comes back to from Vipps: read from Vipps
// while it is still pending (the redirect proves nothing), within the
// order's read budget, so that a thousand requests for one order make one
// read; as stored once decided. When Vipps cannot be asked (or the budget
// is spent), the stored order is returned.
func (s *Service) Returned(ctx context.Context, ref string) (*state.Order, error) {
	o, err := s.Order(ref)
	if err != nil || !o.Status.Pending() {
		return o, err
	}
	ctx, cancel := context.WithTimeout(ctx, returnWait)
	defer cancel()
	if fresh, err := s.budgetedRead(ctx, o, state.SourceReturn, readReuse, reuseUnderPressure); err == nil {
		return fresh, nil
	}
	return s.orderOr(o)
}

// returnWait bounds the look at Vipps on the buyer's return.
const returnWait = 10 * time.Second

// readPayment reads the payment of an order already read and records what
// Vipps says.
func (s *Service) readPayment(ctx context.Context, cur *state.Order, src state.Source) (*state.Order, error) {
	ref := cur.Reference
	callCtx, cancel := s.callCtx(ctx)
	defer cancel()
	p, err := s.vipps.GetPayment(callCtx, ref)
	if err != nil {
		if vipps.IsNotFound(err) {
			return s.missingAtVipps(cur, src)
		}
		return cur, s.classify("get", err)
	}
	return s.applyPayment(ref, src, p, false)
}

// RefreshIfStale reads a pending order from Vipps when its last read is
// older than minAge (at least readReuse), within the order's read budget,
// so that waiting pages polling the status endpoint cannot flood Vipps.
// Finished orders, and orders whose budget is spent, are returned as
// stored.
func (s *Service) RefreshIfStale(ctx context.Context, ref string, src state.Source, minAge time.Duration) (*state.Order, error) {
	o, err := s.Order(ref)
	if err != nil {
		return nil, err
	}
	if !o.Status.Pending() {
		return o, nil
	}
	fresh, err := s.budgetedRead(ctx, o, src, max(minAge, readReuse), reuseAlways)
	if err != nil {
		s.log.Debug("refresh failed", zap.String("reference", ref), zap.Error(err))
		return s.orderOr(o)
	}
	return fresh, nil
}

// observation converts a Vipps payment into the store's neutral form.
func observation(p *vipps.Payment, at time.Time) state.Observation {
	return aggregateObservation(p.State, p.Aggregate, p.PSPReference, at)
}

// aggregateObservation is what a payment or a modification's answer says.
func aggregateObservation(st vipps.PaymentState, a vipps.Aggregate, psp string, at time.Time) state.Observation {
	return state.Observation{
		State:        string(st),
		Authorized:   a.AuthorizedAmount.Value,
		Captured:     a.CapturedAmount.Value,
		Cancelled:    a.CancelledAmount.Value,
		Refunded:     a.RefundedAmount.Value,
		PSPReference: psp,
		At:           at,
	}
}

// applyPayment records a Vipps view of the payment through the arbiter and
// enqueues what the change calls for (the receipt once authorized, the
// buyer's shared details). With
// schedule set (the poller), it also plans the next check.
func (s *Service) applyPayment(ref string, src state.Source, p *vipps.Payment, schedule bool) (*state.Order, error) {
	now := s.now().UTC()
	var prev *state.Buyer
	if p.UserDetails != nil || p.ShippingDetails != nil {
		var err error
		if prev, err = s.storedBuyer(ref); err != nil {
			return nil, err
		}
	}
	o, _, err := s.update(ref, src, func(o *state.Order, tx *state.Tx) error {
		wasAuthorized := o.Payment.Authorized > 0
		changed, err := o.ApplyPayment(observation(p, now))
		if err != nil {
			return err
		}
		if !wasAuthorized && o.Payment.Authorized > 0 {
			// Provisional, from when we saw it; the authorization job
			// sets it from Vipps' own AUTHORIZED event.
			o.Payment.CaptureDeadline = captureDeadline(o, p.CaptureGuaranteedUntil)
			tx.Enqueue(state.Job{Kind: JobAuthorization, Ref: ref, NotBefore: now})
			tx.Note("payment authorized at vipps")
		}
		if s.settleDetails(o, tx, p, prev, now) {
			changed = true
		}
		if s.planCaptureOnPayment(o, tx, now) {
			changed = true
		}
		if schedule {
			o.Checks++
			changed = true
		}
		if next := s.nextCheck(o, now, schedule); !next.Equal(o.NextCheckAt) {
			o.NextCheckAt = next
			changed = true
		}
		if !changed {
			return state.ErrNoChange
		}
		return nil
	})
	if err != nil {
		return o, fmt.Errorf("recording payment state: %w", err)
	}
	return o, nil
}

// missingAtVipps handles a 404 from Vipps, once the grace period after
// checkout is over (any retry of the create call has landed by then). An
// order whose create call never landed (stored pending, its payment never
// confirmed) is failed. One whose payment Vipps
// had created is marked missing: it fails if it was still waiting for the
// buyer, and is no longer watched either way, instead of staying pending
// forever.
func (s *Service) missingAtVipps(o *state.Order, src state.Source) (*state.Order, error) {
	if s.now().Sub(o.CreatedAt) < createGrace {
		return o, nil
	}
	if !o.PaymentKnown() {
		s.markFailed(o.Reference, src, "the payment was never created at vipps")
		return s.Order(o.Reference)
	}
	after, _, err := s.update(o.Reference, src, func(o *state.Order, tx *state.Tx) error {
		if o.Payment.Missing || o.Payment.State == "" {
			return state.ErrNoChange
		}
		o.Payment.Missing = true
		o.NextCheckAt = timeZero
		tx.Note("vipps no longer knows the payment (404)")
		return nil
	})
	if err != nil {
		return o, err
	}
	return after, nil
}

// reservedCheckInterval is how often an order with money still reserved is
// read from Vipps, so that a capture or release made in the business portal
// shows even when its webhook is lost; watchAfterDeadline is how long after
// the capture deadline such an order stays watched.
const (
	reservedCheckInterval = 6 * time.Hour
	watchAfterDeadline    = 7 * 24 * time.Hour
)

// nextCheck plans an order's next check at Vipps: on the pending backoff
// while the outcome is open (only when the poller itself checked, schedule;
// otherwise the plan stays), every reservedCheckInterval while money is
// reserved, and never once the order is settled.
func (s *Service) nextCheck(o *state.Order, now time.Time, schedule bool) time.Time {
	switch {
	case o.Status.Pending():
		if schedule {
			return now.Add(pollDelay(now.Sub(o.CreatedAt)))
		}
		return o.NextCheckAt
	case o.Payment.Reserved() > 0:
		if dl := o.Payment.CaptureDeadline; !dl.IsZero() && now.After(dl.Add(watchAfterDeadline)) {
			return timeZero
		}
		if schedule || o.NextCheckAt.IsZero() {
			return now.Add(reservedCheckInterval)
		}
		return o.NextCheckAt
	}
	return timeZero
}

// pollDelay is the poller's backoff: every few seconds while the buyer is
// likely at the app, then slower; Vipps expires an unanswered payment after
// ten minutes, so most orders finish within the first minutes.
func pollDelay(age time.Duration) time.Duration {
	switch {
	case age < time.Minute:
		return 5 * time.Second
	case age < 5*time.Minute:
		return 15 * time.Second
	case age < 15*time.Minute:
		return 30 * time.Second
	case age < 24*time.Hour:
		return 10 * time.Minute
	default:
		return time.Hour
	}
}

// captureDeadline is the order's capture deadline: by the market's rule from
// when it was authorized, or Vipps' captureGuaranteedUntil if that is
// earlier.
func captureDeadline(o *state.Order, guaranteedUntil *time.Time) time.Time {
	d := CaptureDeadline(o.Currency, o.Payment.AuthorizedAt)
	if guaranteedUntil != nil && !guaranteedUntil.IsZero() && (d.IsZero() || guaranteedUntil.Before(d)) {
		d = guaranteedUntil.UTC()
	}
	return d
}

// CaptureDeadline is when the reservation of a payment authorized at
// authorizedAt runs out: 180 days for Vipps (NOK, SEK), 14 days for MobilePay
// (DKK, EUR) unless the merchant has late capture.
func CaptureDeadline(currency string, authorizedAt time.Time) time.Time {
	if authorizedAt.IsZero() {
		return timeZero
	}
	days := 180
	if currency == vipps.DKK || currency == vipps.EUR {
		days = 14
	}
	return authorizedAt.UTC().AddDate(0, 0, days)
}
