package shop

import (
	"context"
	"errors"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// Cancel releases what is still reserved, whatever was captured or refunded
// before: before any capture the whole payment, after partial captures the
// rest. A payment the buyer has not approved yet is terminated. Captured
// money must be refunded instead.
//
// An order is stored pending before its create is sent, so the merchant
// may cancel it before Vipps has confirmed its payment (the create in
// flight, or its answer lost). The create is then sent again with the
// order's key first: Vipps answers with the payment the first one made,
// or makes it now, and no create still on its way can make another; that
// payment is then cancelled. Vipps refusing it leaves the order failed,
// with nothing to cancel; Vipps not answering leaves everything as it
// was (503: try again).
func (s *Service) Cancel(ctx context.Context, ref string, c Caller) (*state.Order, *state.Operation, error) {
	if err := s.confirmCreate(ctx, ref); err != nil {
		return nil, nil, err
	}
	return s.runOperation(ctx, ref, OpCancel, c, func(o *state.Order, op *state.Operation) error {
		p := o.Payment
		switch {
		case p.State == "CREATED":
			op.Amount, op.Note = o.Amount, "cancelled before approval"
			return nil
		case p.State == "AUTHORIZED" && p.Reserved() > 0:
			op.Amount, op.Note = p.Reserved(), "reservation released"
			return nil
		case p.State == "":
			return &StateError{Reference: o.Reference, Status: string(o.Status), Reason: "the payment is not created at vipps"}
		}
		reason := "nothing is reserved to release"
		if p.Refundable() > 0 {
			reason = "nothing is reserved to release; captured money can be refunded"
		}
		return &StateError{Reference: o.Reference, Status: string(o.Status), Reason: reason}
	})
}

// confirmCreate makes sure that a pending order's payment is known at
// Vipps, sending its create again with the order's key when it is not.
// Errors reading the order are left to the operation that follows.
func (s *Service) confirmCreate(ctx context.Context, ref string) error {
	o, err := s.Order(ref)
	if err != nil || o.PaymentKnown() || !o.Status.Pending() {
		return nil
	}
	_, err = s.resumePayment(ctx, o)
	var rejected *RejectedError
	if errors.As(err, &rejected) {
		return nil // the order is failed now, which the plan tells
	}
	return err
}
