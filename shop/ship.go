package shop

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// JobCategory sets the order's link in the Vipps app (Order Management
// category DELIVERY with the tracking URL).
const JobCategory = "category"

// ShipRequest is what the merchant sends when goods leave the warehouse.
type ShipRequest struct {
	// Amount to capture in minor units. Zero (and no Lines) captures
	// everything that is still reserved.
	Amount int64
	// Lines ship part of the order by SKU and quantity; the capture is
	// their catalog value, plus the delivery the buyer chose in the app on
	// the first capture. Not together with Amount.
	Lines []CartLine
	// Final releases whatever stays reserved after this capture. A shipment
	// that completes every line is final by itself.
	Final bool
	// TrackingURL is shown with the payment in the Vipps app.
	TrackingURL string
	// Actor names who shipped, for the order's history.
	Actor string
}

// Ship captures money for shipped goods: everything still reserved, an
// amount, or the value of the shipped lines. Exactly once under concurrent
// and repeated calls; an order that is not (or no longer) reserved gets a
// StateError saying why. With Final (or when every line has shipped), the
// rest of the reservation is released afterwards.
func (s *Service) Ship(ctx context.Context, ref string, req ShipRequest) (*state.Order, *state.Operation, error) {
	if req.Amount < 0 {
		return nil, nil, &InputError{Field: "amount", Reason: "must not be negative"}
	}
	if req.Amount > 0 && len(req.Lines) > 0 {
		return nil, nil, &InputError{Field: "lines", Reason: "give either an amount or shipped lines, not both"}
	}
	if req.TrackingURL != "" {
		if u, err := url.Parse(req.TrackingURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, nil, &InputError{Field: "tracking_url", Reason: "must be an absolute http(s) URL"}
		}
	}
	complete := false
	o, op, err := s.runOperation(ctx, ref, OpCapture, req.Actor, func(o *state.Order, op *state.Operation) error {
		if err := requireCapturable(o); err != nil {
			return err
		}
		remaining := Remaining(o)
		amount := req.Amount
		if len(req.Lines) > 0 {
			lines, value, done, err := shippedLines(o, req.Lines)
			if err != nil {
				return err
			}
			op.Lines, amount, complete = lines, value, done
		}
		if amount == 0 {
			amount = remaining
		}
		if amount > remaining {
			return &StateError{Reference: o.Reference, Status: string(o.Status), Reason: fmt.Sprintf("only %d is left to capture", remaining)}
		}
		op.Amount, op.Note = amount, "shipped"
		if req.TrackingURL != "" {
			op.Note = "shipped, tracking " + req.TrackingURL
		}
		return nil
	})
	if err != nil || op == nil || op.Status != OpDone {
		return o, op, err
	}
	if req.TrackingURL != "" {
		s.enqueueCategory(ref, req.TrackingURL)
	}
	if (req.Final || complete) && Remaining(o) > 0 {
		if after, _, cerr := s.Cancel(ctx, ref, req.Actor); cerr == nil {
			o = after
		} else {
			return o, op, cerr
		}
	}
	return o, op, nil
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
		out[l.SKU] += l.Qty
		if shipped[l.SKU]+out[l.SKU] > item.Qty {
			return nil, 0, false, &StateError{Reference: o.Reference, Status: string(o.Status),
				Reason: fmt.Sprintf("only %d of %q are left to ship", item.Qty-shipped[l.SKU], l.SKU)}
		}
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

func (s *Service) enqueueCategory(ref, trackingURL string) {
	payload, _ := json.Marshal(map[string]string{"url": trackingURL})
	_, _, err := s.update(ref, state.SourceMerchant, func(o *state.Order, tx *state.Tx) error {
		tx.Enqueue(state.Job{Kind: JobCategory, Ref: ref, Payload: payload, NotBefore: s.now().UTC()})
		return state.ErrNoChange
	})
	if err != nil {
		s.log.Warn("queueing the tracking link failed")
	}
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
