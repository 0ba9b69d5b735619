package shop

import (
	"context"
	"fmt"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// Refund pays captured money back to the buyer: amount in minor units, zero
// for everything captured and not yet refunded. Never more than captured.
func (s *Service) Refund(ctx context.Context, ref string, amount int64, actor string) (*state.Order, *state.Operation, error) {
	if amount < 0 {
		return nil, nil, &InputError{Field: "amount", Reason: "must not be negative"}
	}
	return s.runOperation(ctx, ref, OpRefund, actor, func(o *state.Order, op *state.Operation) error {
		refundable := o.Payment.Captured - o.Payment.Refunded
		if refundable <= 0 {
			return &StateError{Reference: o.Reference, Status: string(o.Status), Reason: "nothing captured is left to refund"}
		}
		a := amount
		if a == 0 {
			a = refundable
		}
		if a > refundable {
			return &StateError{Reference: o.Reference, Status: string(o.Status), Reason: fmt.Sprintf("only %d can be refunded", refundable)}
		}
		op.Amount, op.Note = a, "refund"
		return nil
	})
}
