package shop

import (
	"context"
	"errors"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// finishOperation settles an operation whose outcome is open, for the
// outbox and for "check at Vipps". It first asks Vipps' event log whether
// the operation's key was applied — a capture, refund or cancel event with
// that key (for a cancel whose event carries no key, as in an example in
// Vipps' documentation: money released or the payment terminated) — and if
// so records it done with the payment as Vipps shows it. Only when Vipps
// shows it was not applied is it sent again, with the same key: an old key
// Vipps may have forgotten can then never apply the operation twice. A
// refusal is recorded as failed. An error means Vipps could not be asked;
// the operation stays open.
func (s *Service) finishOperation(ctx context.Context, ref, opID string, src state.Source) error {
	o, err := s.Order(ref)
	if err != nil {
		return err
	}
	op := findOp(o, opID)
	if op == nil || op.Status != OpPending {
		return nil
	}
	applied, p, err := s.appliedAtVipps(ctx, ref, op)
	if vipps.IsNotFound(err) {
		// Vipps has no such payment, so nothing was applied to it.
		_, _, err := s.settleOperation(ref, opID, src, nil, nil, "vipps does not know the payment")
		return err
	}
	if err != nil {
		return s.classify("get", err)
	}
	if applied {
		obs := observation(p, s.now().UTC())
		after, _, err := s.settleOperation(ref, opID, src, &obs, nil, "")
		if err != nil {
			return err
		}
		_, _, err = s.executeOperation(ctx, after, opID, src) // its follow-up, if any
		return ignoreStateError(err)
	}
	_, _, err = s.executeOperation(ctx, o, opID, src)
	return ignoreStateError(err)
}

// ignoreStateError: a StateError from an operation means Vipps refused it
// and that was recorded; there is nothing left to retry.
func ignoreStateError(err error) error {
	var se *StateError
	if errors.As(err, &se) {
		return nil
	}
	return err
}

// appliedAtVipps reports whether Vipps applied an operation, with the
// payment as Vipps shows it: an event of the operation's kind with its
// idempotency key. A release by another request (the business portal's,
// with its own key) is not this cancel; only when a release event carries
// no key at all does the money decide for a cancel. Errors are the
// client's, unclassified.
func (s *Service) appliedAtVipps(ctx context.Context, ref string, op *state.Operation) (bool, *vipps.Payment, error) {
	callCtx, cancel := s.callCtx(ctx)
	defer cancel()
	s.reads.take(ref, s.now(), true)
	p, err := s.vipps.GetPayment(callCtx, ref)
	if err != nil {
		return false, nil, err
	}
	events, err := s.vipps.GetPaymentEvents(callCtx, ref)
	if err != nil {
		return false, nil, err
	}
	keyless := false
	for _, ev := range events {
		if !ev.Success || !eventOf(op.Kind, ev.Name) {
			continue
		}
		if ev.IdempotencyKey == op.IdempotencyKey {
			return true, p, nil
		}
		keyless = keyless || ev.IdempotencyKey == ""
	}
	if op.Kind == OpCancel && keyless {
		released := p.State == vipps.StateTerminated || p.Aggregate.CancelledAmount.Value > 0
		return released, p, nil
	}
	return false, p, nil
}

// eventOf reports whether an event is what an operation of the kind
// records at Vipps: CAPTURED, REFUNDED, or for a cancel CANCELLED (after
// approval) or TERMINATED (before).
func eventOf(kind string, name vipps.EventName) bool {
	switch kind {
	case OpCapture:
		return name == vipps.EventCaptured
	case OpRefund:
		return name == vipps.EventRefunded
	case OpCancel:
		return name == vipps.EventCancelled || name == vipps.EventTerminated
	}
	return false
}

// CheckAtVipps reads the payment from Vipps into the order (within the
// order's read budget: a read of the last few seconds answers) and settles
// every operation whose outcome is in doubt (pending for longer than a
// request can take): the merchant's "check at Vipps". An operation Vipps
// cannot be asked about stays pending, and the error says so.
func (s *Service) CheckAtVipps(ctx context.Context, ref string) (*state.Order, error) {
	o, err := s.Order(ref)
	if err != nil {
		return nil, err
	}
	if o, err = s.budgetedRead(ctx, o, state.SourceMerchant, readReuse, reuseUnderPressure); err != nil {
		return o, err
	}
	for _, op := range o.Ops {
		if op.Status == OpPending && s.now().Sub(op.CreatedAt) >= s.Handover() {
			if err := s.finishOperation(ctx, ref, op.ID, state.SourceMerchant); err != nil {
				return o, err
			}
		}
	}
	return s.Order(ref)
}

// InDoubt reports whether an operation's outcome is open for longer than a
// request can take: the outbox is settling it, and the merchant may check
// it at Vipps.
func (s *Service) InDoubt(op state.Operation) bool {
	return op.Status == OpPending && s.now().Sub(op.CreatedAt) >= s.Handover()
}
