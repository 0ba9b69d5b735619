package shop

import (
	"context"
	"fmt"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// RefundRequest says how much captured money to pay back: exactly one of
// Amount and All.
type RefundRequest struct {
	// Amount in minor units, more than zero.
	Amount int64
	// All refunds everything captured and not yet refunded.
	All bool
	Caller
}

// Refund pays captured money back to the buyer, never more than captured
// and not yet refunded, whether or not money is still reserved.
func (s *Service) Refund(ctx context.Context, ref string, req RefundRequest) (*state.Order, *state.Operation, error) {
	switch {
	case req.All && req.Amount != 0:
		return nil, nil, &InputError{Field: "amount", Reason: "give either an amount or all, not both"}
	case !req.All && req.Amount == 0:
		return nil, nil, &InputError{Field: "amount", Reason: "say what to refund: an amount, or all"}
	}
	if err := checkAmount(req.Amount, req.All); err != nil {
		return nil, nil, err
	}
	return s.runOperation(ctx, ref, OpRefund, req.Caller, func(o *state.Order, op *state.Operation) error {
		refundable := o.Payment.Refundable()
		if refundable <= 0 {
			return &StateError{Reference: o.Reference, Status: string(o.Status), Reason: "nothing captured is left to refund"}
		}
		a := req.Amount
		if req.All {
			a = refundable
		}
		if a > refundable {
			return &StateError{Reference: o.Reference, Status: string(o.Status), Reason: fmt.Sprintf("only %d can be refunded", refundable)}
		}
		op.Amount, op.Note = a, "refund"
		return nil
	})
}
