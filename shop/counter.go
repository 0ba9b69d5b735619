package shop

import (
	"context"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// CounterSale charges a buyer at the counter: an order of the charge
// (catalog lines or a free amount) whose payment is a QR code on the
// shop's screen, which the buyer scans with the app. No link is made.
func (s *Service) CounterSale(ctx context.Context, c Charge) (*CheckoutResult, error) {
	items, total, desc, err := s.price(c)
	if err != nil {
		return nil, err
	}
	o, err := s.newOrder(items, total, desc, false)
	if err != nil {
		return nil, err
	}
	o.Flow, o.CaptureOnPayment, o.AgainFor, o.Language = FlowQR, c.CaptureOnPayment, c.Order, c.Language
	if c.Order != "" {
		if err := s.offerAgain(c.Order, state.AgainRoute{Kind: againOrder, ID: o.Reference, At: o.CreatedAt}); err != nil {
			return nil, err
		}
	}
	if err := s.store.Create(o, s.createdJobs(o)...); err != nil {
		return nil, storeNew(err)
	}
	s.created(o, "")
	return s.createPayment(ctx, o, "")
}
