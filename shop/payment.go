package shop

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// createPayment creates a stored order's payment at Vipps with the order's
// Idempotency-Key, in the order's flow: a redirect to Vipps (the landing
// page or the app), a QR code for a screen at the counter (CUSTOMER_PRESENT;
// the redirect URL is then Vipps' image of the code), or a push to the
// buyer's phone (no redirect at all). It records the created payment, or
// marks the order failed when Vipps refuses it for good.
func (s *Service) createPayment(ctx context.Context, o *state.Order, phone string) (*CheckoutResult, error) {
	ref := o.Reference
	create := vipps.CreatePaymentRequest{
		Amount:             vipps.Amount{Currency: o.Currency, Value: o.Amount},
		PaymentMethod:      vipps.PaymentMethod{Type: vipps.PaymentMethodWallet},
		Reference:          ref,
		UserFlow:           vipps.UserFlowWebRedirect,
		ReturnURL:          s.ReturnURL(ref),
		PaymentDescription: o.Description,
	}
	switch o.Flow {
	case vipps.UserFlowQR:
		create.UserFlow = vipps.UserFlowQR
		create.QRFormat = &vipps.QRFormat{Format: vipps.QRFormatSVG}
		create.CustomerInteraction = vipps.CustomerPresent
	case vipps.UserFlowPushMessage:
		// The buyer approves in the app and is sent nowhere.
		create.UserFlow, create.ReturnURL = vipps.UserFlowPushMessage, ""
	}
	if phone != "" {
		create.Customer = &vipps.Customer{PhoneNumber: phone}
	}
	if o.Scope != "" {
		create.Profile = &vipps.ProfileRequest{Scope: o.Scope}
	}
	if o.Express {
		// Express: the amount is the goods; the buyer adds delivery in
		// the app and authorizes both.
		create.Shipping = &vipps.Shipping{FixedOptions: s.catalog.fixedOptions()}
	}
	callCtx, cancel := s.callCtx(ctx)
	defer cancel()
	resp, err := s.vipps.CreatePayment(callCtx, o.CreateKey, create)
	if err := s.classify("create", err); err != nil {
		var rejected *RejectedError
		if errors.As(err, &rejected) {
			s.markFailed(ref, state.SourceCheckout, fmt.Sprintf("vipps refused the payment (status %d, code %s, trace %s)", rejected.Status, rejected.Code, rejected.TraceID))
		}
		s.log.Warn("creating payment failed", zap.String("reference", ref), zap.String("flow", create.UserFlow), zap.Error(err))
		return nil, err
	}
	after, _, err := s.update(ref, state.SourceCheckout, func(o *state.Order, tx *state.Tx) error {
		o.RedirectURL = resp.RedirectURL
		if _, err := o.ApplyPayment(state.Observation{State: string(vipps.StateCreated), At: s.now().UTC()}); err != nil {
			return err
		}
		tx.Note("payment created at vipps")
		return nil
	})
	if err != nil {
		// The payment exists at Vipps; the poller will catch up with it.
		s.log.Error("recording created payment failed", zap.String("reference", ref), zap.Error(err))
		return nil, fmt.Errorf("recording created payment: %w", err)
	}
	return &CheckoutResult{Order: after, RedirectURL: resp.RedirectURL}, nil
}
