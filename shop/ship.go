package shop

import (
	"context"
	"fmt"
	"net/url"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// JobCategory sets the order's link in the Vipps app (Order Management
// category DELIVERY with the tracking URL).
const JobCategory = "category"

// ShipRequest is what the merchant sends when goods leave the warehouse:
// exactly one of Amount, All and Lines says what to capture.
type ShipRequest struct {
	// Amount to capture in minor units, more than zero.
	Amount int64
	// All captures everything still reserved.
	All bool
	// Lines ship part of the order by SKU and quantity; the capture is
	// their value, plus the delivery the buyer chose in the app on the
	// first capture.
	Lines []CartLine
	// Final releases whatever stays reserved after this capture. A shipment
	// that completes every line is final by itself.
	Final bool
	// TrackingURL is shown with the payment in the Vipps app.
	TrackingURL string
	Caller
}

// Ship captures money for shipped goods: everything still reserved, an
// amount, or the value of the shipped lines. Exactly once under concurrent
// and repeated calls; an order with nothing reserved gets a StateError
// saying why. With Final (or when every line has shipped), the rest of the
// reservation is released afterwards, recorded in the same transaction as
// the capture's outcome so that a crash in between cannot forget it.
func (s *Service) Ship(ctx context.Context, ref string, req ShipRequest) (*state.Order, *state.Operation, error) {
	if err := checkShip(req); err != nil {
		return nil, nil, err
	}
	o, op, err := s.runOperation(ctx, ref, OpCapture, req.Caller, func(o *state.Order, op *state.Operation) error {
		if err := requireCapturable(o); err != nil {
			return err
		}
		remaining := o.Payment.Reserved()
		amount := req.Amount
		complete := false
		switch {
		case req.All:
			amount = remaining
		case len(req.Lines) > 0:
			lines, value, done, err := shippedLines(o, req.Lines)
			if err != nil {
				return err
			}
			op.Lines, amount, complete = lines, value, done
		}
		if amount > remaining {
			return &StateError{Reference: o.Reference, Status: string(o.Status), Reason: fmt.Sprintf("only %d is left to capture", remaining)}
		}
		op.Amount, op.Note, op.TrackingURL = amount, "shipped", req.TrackingURL
		if req.TrackingURL != "" {
			op.Note = "shipped, tracking " + req.TrackingURL
		}
		op.ReleaseRest = (req.Final || complete) && amount < remaining
		return nil
	})
	return o, op, err
}

// checkShip refuses a shipment that does not say exactly what to capture.
func checkShip(req ShipRequest) error {
	given := 0
	for _, b := range []bool{req.Amount != 0, req.All, len(req.Lines) > 0} {
		if b {
			given++
		}
	}
	switch {
	case given == 0:
		return &InputError{Field: "amount", Reason: "say what to capture: an amount, lines, or all"}
	case given > 1:
		return &InputError{Field: "amount", Reason: "give only one of amount, lines and all"}
	}
	if err := checkAmount(req.Amount, req.All || len(req.Lines) > 0); err != nil {
		return err
	}
	if req.TrackingURL != "" {
		if u, err := url.Parse(req.TrackingURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return &InputError{Field: "tracking_url", Reason: "must be an absolute http(s) URL"}
		}
	}
	return nil
}

// checkAmount checks an amount a merchant asks to move: a whole number of
// minor units above zero and within what a Vipps payment can hold. Zero is
// allowed only when something else (all, lines) says what to move.
func checkAmount(amount int64, other bool) error {
	switch {
	case amount == 0 && other:
		return nil
	case amount <= 0:
		return &InputError{Field: "amount", Reason: "must be more than zero (in minor units: 10000 is 100.00)"}
	case amount > MaxAmount:
		return &InputError{Field: "amount", Reason: fmt.Sprintf("must be at most %d, the largest Vipps payment", MaxAmount)}
	}
	return nil
}

// shippedLines checks shipped lines against what the order holds and has
// not shipped yet, and returns them, their value (with the delivery the
// buyer chose, on the first capture), and whether the order is then fully
// shipped.
func shippedLines(o *state.Order, lines []CartLine) (map[string]int, int64, bool, error) {
	shipped := map[string]int{}
	captured := false
	for _, op := range o.Ops {
		if op.Kind == OpCapture && op.Status != OpFailed {
			captured = true
			for sku, q := range op.Lines {
				shipped[sku] += q
			}
		}
	}
	out := map[string]int{}
	var value int64
	for _, l := range lines {
		var item *state.Item
		for i := range o.Items {
			if o.Items[i].SKU == l.SKU {
				item = &o.Items[i]
			}
		}
		if item == nil {
			return nil, 0, false, &InputError{Field: "lines", Reason: fmt.Sprintf("%q is not in this order", truncate(l.SKU, 64))}
		}
		if l.Qty < 1 {
			return nil, 0, false, &InputError{Field: "lines", Reason: "quantities must be at least 1"}
		}
		// Compared before adding, so no quantity can overflow.
		if left := item.Qty - shipped[l.SKU] - out[l.SKU]; l.Qty > left {
			return nil, 0, false, &StateError{Reference: o.Reference, Status: string(o.Status),
				Reason: fmt.Sprintf("only %d of %q are left to ship", item.Qty-shipped[l.SKU], l.SKU)}
		}
		out[l.SKU] += l.Qty
		value += item.UnitPrice * int64(l.Qty)
	}
	if o.Shipping != nil && !captured {
		// Delivery is charged with the first shipment.
		value += o.Shipping.Amount
	}
	complete := true
	for _, it := range o.Items {
		if shipped[it.SKU]+out[it.SKU] < it.Qty {
			complete = false
		}
	}
	return out, value, complete, nil
}

// requireCapturable says why nothing can be captured, from the amounts.
func requireCapturable(o *state.Order) error {
	p := o.Payment
	switch {
	case p.State == "" || p.State == "CREATED":
		return &StateError{Reference: o.Reference, Status: string(o.Status), Reason: "the payment is not authorized yet"}
	case p.State != "AUTHORIZED":
		return &StateError{Reference: o.Reference, Status: string(o.Status), Reason: "the buyer did not pay"}
	case p.Reserved() <= 0 && p.Captured > 0:
		return &StateError{Reference: o.Reference, Status: string(o.Status), Reason: fmt.Sprintf("nothing is left to capture (%d captured, %d released)", p.Captured, p.Cancelled)}
	case p.Reserved() <= 0:
		return &StateError{Reference: o.Reference, Status: string(o.Status), Reason: "nothing is reserved to capture"}
	}
	return nil
}
