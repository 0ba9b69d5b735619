package shop

import (
	"context"
	"fmt"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// ShipRequest is what the merchant sends when goods leave the warehouse.
type ShipRequest struct {
	// Amount to capture in minor units. Zero captures everything that is
	// still reserved.
	Amount int64
	// Actor names who shipped, for the order's history.
	Actor string
}

// Ship captures money for shipped goods: by default everything still
// reserved. Exactly once under concurrent and repeated calls; an order that is
// not (or no longer) reserved gets a StateError saying why.
func (s *Service) Ship(ctx context.Context, ref string, req ShipRequest) (*state.Order, *state.Operation, error) {
	if req.Amount < 0 {
		return nil, nil, &InputError{Field: "amount", Reason: "must not be negative"}
	}
	return s.runOperation(ctx, ref, OpCapture, req.Actor, func(o *state.Order) (int64, string, error) {
		if err := requireCapturable(o); err != nil {
			return 0, "", err
		}
		remaining := Remaining(o)
		amount := req.Amount
		if amount == 0 {
			amount = remaining
		}
		if amount > remaining {
			return 0, "", &StateError{Reference: o.Reference, Status: string(o.Status), Reason: fmt.Sprintf("only %d is left to capture", remaining)}
		}
		return amount, "shipped", nil
	})
}

func requireCapturable(o *state.Order) error {
	switch o.Status {
	case state.StatusAuthorized, state.StatusPartiallyCaptured:
		if Remaining(o) > 0 {
			return nil
		}
	case state.StatusNew, state.StatusPending:
		return &StateError{Reference: o.Reference, Status: string(o.Status), Reason: "the payment is not authorized yet"}
	case state.StatusCaptured, state.StatusPartiallyRefunded, state.StatusRefunded:
		return &StateError{Reference: o.Reference, Status: string(o.Status), Reason: "the payment is already captured"}
	}
	return &StateError{Reference: o.Reference, Status: string(o.Status), Reason: "nothing is reserved to capture"}
}
