package shop

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// Ways a buyer pays a link (LinkPayment.Flow).
const (
	// FlowRedirect sends the buyer to Vipps (the landing page or the app).
	FlowRedirect = ""
	// FlowQR shows Vipps' QR code on a screen at the counter.
	FlowQR = vipps.UserFlowQR
	// FlowPush sends the payment to the app of the phone number given.
	FlowPush = vipps.UserFlowPushMessage
)

// LinkPayment is how a buyer pays a link.
type LinkPayment struct {
	Flow string
	// Phone is where FlowPush sends the payment, as the buyer typed it in
	// the market's own form; it is kept with the buyer details, which
	// expire, and never logged.
	Phone string
}

// PayLink starts a payment through a link: the order (the link's lines and
// amount, its capture rule) is written in one transaction with the link's
// admission — a single-use link admits one order while another waits for
// its buyer or was paid, whoever comes at the same time — and then the
// payment is created at Vipps in the flow asked for. A link that is
// unknown, expired, disabled, used or busy is refused with its error and
// nothing is stored.
func (s *Service) PayLink(ctx context.Context, token string, pay LinkPayment) (*CheckoutResult, error) {
	l, err := s.LinkByToken(token)
	if err != nil {
		return nil, err
	}
	var phone string
	switch pay.Flow {
	case FlowRedirect, FlowQR:
	case FlowPush:
		if phone, err = NormalizePhone(pay.Phone, MarketOf(s.catalog.Currency())); err != nil {
			return nil, err
		}
		if phone == "" {
			return nil, &InputError{Field: "phone", Code: CodePhone, Reason: "type the mobile number to send the payment to"}
		}
	default:
		return nil, &InputError{Field: "flow", Reason: "unknown way to pay"}
	}
	o, err := s.newOrder(l.Items, l.Amount, l.Description, false)
	if err != nil {
		return nil, err
	}
	o.Flow, o.CaptureOnPayment = pay.Flow, l.CaptureOnPayment
	now := s.now()
	_, err = s.store.CreateLinkOrder(l.ID, o, func(cur *state.Link, holder *state.Order) error {
		if err := admission(cur, holder, now); err != nil {
			return err
		}
		cur.Orders++
		if !cur.Reusable {
			cur.Holder = o.Reference
		}
		return nil
	})
	switch {
	case errors.Is(err, state.ErrNotFound):
		return nil, ErrLinkNotFound
	case err != nil && isLinkRefusal(err):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("storing order: %w", err)
	}
	s.log.Info("order from payment link", zap.String("link", l.ID), zap.String("reference", o.Reference), zap.String("flow", o.Flow))
	s.created(o, phone)
	return s.createPayment(ctx, o, phone)
}

// isLinkRefusal reports whether err is a link's refusal of a payment.
func isLinkRefusal(err error) bool {
	for _, e := range []error{ErrLinkNotFound, ErrLinkExpired, ErrLinkDisabled, ErrLinkUsed, ErrLinkBusy} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
