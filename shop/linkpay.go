package shop

import (
	"context"
	"errors"
	"regexp"
	"time"

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
	// Attempt names the buyer's try at paying the link (empty: none), the
	// same for every press of Pay in one browser for a while. A press with
	// the attempt of the payment that waits for the buyer (a double click,
	// Back from Vipps and Pay again) is sent to that payment, not refused
	// because the link is busy.
	Attempt string
	// Language is the language of the link's page: the order names the
	// link's products in it (see LinkIn). Empty is the shop's default.
	Language string
}

// attemptPattern is what a page's attempt looks like.
var attemptPattern = regexp.MustCompile(`^[a-z0-9]{16,64}$`)

// ValidAttempt reports whether s can name an attempt.
func ValidAttempt(s string) bool { return attemptPattern.MatchString(s) }

// attemptWait is how long a second press waits for the first press's
// payment to be created at Vipps.
var attemptWait = 10 * time.Second

// errSameAttempt: the link is held by the order of this very press.
type errSameAttempt struct{ holder string }

func (errSameAttempt) Error() string { return "the link is held by this attempt's order" }

// heldBy reports whether holder is the payment of attempt that still waits
// for its buyer.
func heldBy(holder *state.Order, attempt string) bool {
	return attempt != "" && holder != nil && holder.LinkAttempt == attempt && holder.Status.Pending()
}

// errAttemptEnded: the payment of an earlier press ended unpaid.
var errAttemptEnded = errors.New("the attempt's payment ended unpaid")

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
	if pay.Attempt != "" && !attemptPattern.MatchString(pay.Attempt) {
		return nil, &InputError{Field: "attempt", Reason: "must be the attempt the link's page gave"}
	}
	if pay.Flow == FlowPush && !s.pushWaiting(l, pay.Attempt) {
		if err := s.allowPush(ctx, phone); err != nil {
			return nil, err
		}
	}
	items, desc := s.LinkIn(l, pay.Language)
	o, err := s.newOrder(items, l.Amount, desc, false)
	if err != nil {
		return nil, err
	}
	o.Flow, o.CaptureOnPayment, o.LinkAttempt, o.AgainFor = pay.Flow, l.CaptureOnPayment, pay.Attempt, l.ForOrder
	o.Language = pay.Language
	now := s.now()
	_, err = s.store.CreateLinkOrder(l.ID, o, func(cur *state.Link, holder *state.Order) error {
		if heldBy(holder, pay.Attempt) && holder.Flow == pay.Flow {
			return errSameAttempt{holder: holder.Reference}
		}
		if err := admission(cur, holder, now); err != nil {
			return err
		}
		cur.Orders++
		if !cur.Reusable {
			cur.Holder = o.Reference
		}
		return nil
	}, s.createdJobs(o)...)
	var same errSameAttempt
	switch {
	case errors.As(err, &same):
		res, err := s.attemptPayment(ctx, same.holder)
		if errors.Is(err, errAttemptEnded) {
			// The first press's payment ended unpaid, which freed the
			// link: this press is a new try.
			pay.Attempt = ""
			return s.PayLink(ctx, token, pay)
		}
		return res, err
	case errors.Is(err, state.ErrNotFound):
		return nil, ErrLinkNotFound
	case err != nil && isLinkRefusal(err):
		return nil, err
	case err != nil:
		return nil, storeNew(err)
	}
	s.log.Info("order from payment link", zap.String("link", l.ID), zap.String("reference", o.Reference), zap.String("flow", o.Flow))
	s.created(o, phone)
	return s.createPayment(ctx, o, phone)
}

// pushWaiting reports whether the link is held by this attempt's own push
// that waits for the buyer: pressing Pay again leads to it, and sends no
// new push.
func (s *Service) pushWaiting(l *state.Link, attempt string) bool {
	if l.Holder == "" || attempt == "" {
		return false
	}
	holder, err := s.store.Get(l.Holder)
	return err == nil && heldBy(holder, attempt) && holder.Flow == FlowPush
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

// attemptPayment answers a second press of the same Pay with the payment
// its first press started: at once for a push (the buyer waits on the
// shop's page), or once Vipps' address for the buyer is recorded. When
// that does not come soon (the first press's answer from Vipps was lost,
// or its process died), the create is sent again with the order's stored
// key (resumePayment): Vipps answers with the same payment. Should nothing
// come in time, the link is busy as for anyone else; should that payment
// end unpaid meanwhile, errAttemptEnded.
func (s *Service) attemptPayment(ctx context.Context, ref string) (*CheckoutResult, error) {
	deadline := time.NewTimer(attemptWait)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	resumeAt := time.Now().Add(attemptResume)
	resumed := false
	for {
		o, err := s.Order(ref)
		if err != nil {
			return nil, err
		}
		switch {
		case !o.Status.Pending():
			return nil, errAttemptEnded
		case o.Flow == FlowPush && o.PaymentKnown():
			return &CheckoutResult{Order: o}, nil
		case o.RedirectURL != "":
			return &CheckoutResult{Order: o, RedirectURL: o.RedirectURL}, nil
		case !resumed && time.Now().After(resumeAt):
			resumed = true
			res, err := s.resumePayment(ctx, o)
			if err == nil && (res.RedirectURL != "" || o.Flow == FlowPush) {
				return res, nil
			}
			if err != nil {
				s.log.Info("sending a link's payment again did not answer yet", zap.String("reference", ref), zap.Error(err))
			}
		}
		select {
		case <-ctx.Done():
			return nil, ErrLinkBusy
		case <-deadline.C:
			return nil, ErrLinkBusy
		case <-tick.C:
		}
	}
}

// attemptResume is how long a second press waits for the first press's
// answer before sending the create again itself.
var attemptResume = time.Second
