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
// marks the order failed when Vipps refuses it for good. Sent again for
// the same order (resumePayment), Vipps answers with the same payment.
func (s *Service) createPayment(ctx context.Context, o *state.Order, phone string) (*CheckoutResult, error) {
	ref := o.Reference
	create := s.createRequest(o, phone)
	callCtx, cancel := s.callCtx(ctx)
	defer cancel()
	resp, err := s.vipps.CreatePayment(callCtx, o.CreateKey, create)
	if err := s.classifyCreate(err); err != nil {
		var rejected *RejectedError
		if errors.As(err, &rejected) {
			s.markFailed(ref, state.SourceCheckout, fmt.Sprintf("vipps refused the payment (status %d, code %s, trace %s)", rejected.Status, rejected.Code, rejected.TraceID))
		}
		s.log.Warn("creating payment failed", zap.String("reference", ref), zap.String("flow", create.UserFlow), zap.Error(err))
		return nil, err
	}
	after, err := s.recordCreated(o, resp.RedirectURL)
	if err != nil {
		// The order is stored and its payment exists at Vipps: the buyer
		// may go and pay it. What Vipps answered is not recorded yet; the
		// poller (or the next resumePayment) asks Vipps again.
		s.log.Error("recording created payment failed; the poller will catch up", zap.String("reference", ref), zap.Error(err))
		shown := *o
		shown.RedirectURL = resp.RedirectURL
		return &CheckoutResult{Order: &shown, RedirectURL: resp.RedirectURL}, nil
	}
	return &CheckoutResult{Order: after, RedirectURL: resp.RedirectURL}, nil
}

// recordCreated records Vipps' answer to an order's create. The order was
// stored pending, with its create's key and its order.pending notification,
// in the one synced commit before the create; the answer only adds what
// can be asked of Vipps again (that the payment exists, and the buyer's
// address at Vipps), so it is recorded without a sync of its own
// (state.Store.RecordCreated): a power cut that loses it loses nothing,
// since the poller reads the payment and a create sent again with the
// order's key answers with the same address. That is what makes a
// checkout one synced commit. An order stored as new by an earlier
// version is moved to pending by a synced transition, as it was then.
func (s *Service) recordCreated(o *state.Order, redirectURL string) (*state.Order, error) {
	answer := state.CreateAnswer{RedirectURL: redirectURL, At: s.now().UTC()}
	if o.Status == state.StatusNew {
		after, _, err := s.update(o.Reference, state.SourceCheckout, answer.Record)
		return after, err
	}
	if err := s.store.RecordCreated(o.Reference, answer); err != nil {
		return nil, err
	}
	// The order as this answer leaves it, from the copy in hand (the
	// store does not read it back): what the buyer is sent to.
	after := o.Clone()
	if changed, err := after.ApplyCreated(answer); err == nil && changed && !o.PaymentKnown() && after.PaymentKnown() {
		s.observer.OrderChanged(o, after, state.SourceCheckout)
	}
	return after, nil
}

// createRequest is the create call of a stored order: the same for every
// time it is sent, so that Vipps recognises a repeat by its key and body.
func (s *Service) createRequest(o *state.Order, phone string) vipps.CreatePaymentRequest {
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
	return create
}

// classifyCreate is classify for a create: a 409 says that Vipps holds a
// payment with this reference — the same key still in flight, or a
// request of ours it already took — so the order's payment exists or may;
// that is an open outcome the poller follows, never a refusal that would
// mark the order failed while its payment lives at Vipps.
func (s *Service) classifyCreate(err error) error {
	if vipps.StatusCode(err) == 409 {
		return &UnavailableError{Op: "create", Err: err}
	}
	return s.classify("create", err)
}

// resumePayment sends a stored order's create again, with its stored key
// and the same request, for a buyer who comes back to a payment whose first
// answer was lost: Vipps answers with the payment it made then (or makes
// it now, if the first request never arrived), and the buyer is sent to it.
func (s *Service) resumePayment(ctx context.Context, o *state.Order) (*CheckoutResult, error) {
	phone := ""
	if b, err := s.store.Buyer(o.Reference); err == nil {
		phone = b.Phone
	}
	return s.createPayment(ctx, o, phone)
}
