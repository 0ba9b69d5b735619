package shop

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// CheckoutRequest is a buyer's cart. Only SKUs and quantities: prices come
// from the catalog.
type CheckoutRequest struct {
	Lines []CartLine
	// Phone optionally pre-fills the Vipps landing page. It is kept with the
	// buyer details, which expire, and never logged.
	Phone string
	// Language is the language of the buyer's pages (en, nb, da, sv,
	// fi): the order's lines, its payment description and its receipt
	// name the products in it. Empty is the shop's default language.
	Language string
}

// CheckoutResult is a created order and where to send the buyer.
type CheckoutResult struct {
	Order       *state.Order
	RedirectURL string
}

// Checkout prices the cart from the catalog, stores the order durably, then
// creates the ePayment at Vipps (WEB_REDIRECT, WALLET) with the order's
// stored Idempotency-Key. It asks the buyer to share the profile details the
// shop and the cart's products collect, and with shipping options it makes
// an Express payment where the buyer picks delivery in the app.
//
// The order is stored as pending, in one synced commit, before Vipps
// hears of it; Vipps' answer is recorded without a sync of its own (see
// state.Store.RecordCreated).
//
// Bad input returns an InputError and stores nothing. If Vipps refuses the
// payment for good, the order is marked failed and a RejectedError returned.
// If Vipps cannot be reached, an UnavailableError is returned and the order
// stays pending with its payment not known: the poller later finds out
// whether the payment exists at Vipps and follows it, or marks the order
// failed when Vipps never got it (the buyer has been told to try again, so
// a payment that does exist simply expires unpaid).
func (s *Service) Checkout(ctx context.Context, req CheckoutRequest) (*CheckoutResult, error) {
	phone, err := NormalizePhone(req.Phone, MarketOf(s.catalog.Currency()))
	if err != nil {
		return nil, err
	}
	items, total, err := s.catalog.Price(req.Lines, req.Language)
	if err != nil {
		return nil, err
	}
	express := len(s.catalog.shipping) > 0
	if express && total+s.catalog.maxShipping() > MaxAmount {
		return nil, &InputError{Field: "qty", Code: CodeTotalTooLarge, Reason: "the order total with delivery is larger than a Vipps payment may be"}
	}
	o, err := s.newOrder(items, total, s.description(items), express)
	if err != nil {
		return nil, err
	}
	o.Language = req.Language
	if err := s.store.Create(o, s.createdJobs(o)...); err != nil {
		return nil, storeNew(err)
	}
	s.created(o, phone)
	return s.createPayment(ctx, o, phone)
}

// storeNew is what a failed write of a new order means to its buyer: no
// payment was created for it, so nothing was charged, and a new try makes
// a new order. When the database could not confirm the write, the order
// may exist after all; nobody is sent to pay it, and the poller closes it
// when Vipps has never heard of it.
func storeNew(err error) error {
	if errors.Is(err, state.ErrOutcomeUnknown) {
		return fmt.Errorf("storing order: %w: %v", state.ErrUnavailable, err)
	}
	return fmt.Errorf("storing order: %w", err)
}

// newOrder is a new order of priced items, before it is stored.
func (s *Service) newOrder(items []state.Item, total int64, desc string, express bool) (*state.Order, error) {
	ref, err := NewReference(s.cfg.ReferencePrefix)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	return &state.Order{
		Schema:      state.SchemaVersion,
		Reference:   ref,
		Items:       items,
		Currency:    s.catalog.Currency(),
		Amount:      total,
		Description: desc,
		// Pending from the start: its create is sent right after the one
		// synced commit that stores it, so the merchant's list, filter,
		// cancel and notification treat it as the payment it is about to
		// be (the payment is not known until Vipps confirms it).
		Status:    state.StatusPending,
		Scope:     s.scopeFor(items, express),
		Express:   express,
		CreateKey: uuid.NewString(),
		CreatedAt: now,
		UpdatedAt: now,
		// If the create call's outcome stays unknown, the poller resolves it.
		NextCheckAt: now.Add(firstCheckDelay),
	}, nil
}

// createdJobs are the outbox jobs stored with a new order: the merchant's
// order.pending notification, told once Vipps has confirmed the payment
// (see notify), so that the one commit before the create holds it.
func (s *Service) createdJobs(o *state.Order) []state.Job {
	if s.cfg.NotifyURL == "" {
		return nil
	}
	j, ok := s.notifyEvent(o.Reference, &state.Order{}, o)
	if !ok {
		return nil
	}
	return []state.Job{j}
}

// created keeps the phone number a buyer typed with the buyer details
// (they expire) and tells the observer of a stored order.
func (s *Service) created(o *state.Order, phone string) {
	if phone != "" {
		if err := s.store.PutBuyer(o.Reference, state.Buyer{Phone: phone}, s.cfg.BuyerRetention); err != nil {
			s.log.Warn("storing buyer details failed", zap.String("reference", o.Reference), zap.Error(err))
		}
	}
	s.observer.OrderChanged(nil, o, state.SourceCheckout)
}

// markFailed records that the payment could not be created: Vipps
// refused it, or never got it.
func (s *Service) markFailed(ref string, src state.Source, note string) {
	_, _, err := s.update(ref, src, func(o *state.Order, tx *state.Tx) error {
		if o.PaymentKnown() || !o.Status.Pending() {
			return state.ErrNoChange
		}
		o.Status = state.StatusFailed
		o.NextCheckAt = timeZero
		tx.Note("%s", note)
		return nil
	})
	if err != nil {
		s.log.Error("marking order failed", zap.String("reference", ref), zap.Error(err))
	}
}

// description is the configured payment description or a summary of the
// items, cut to Vipps' limit of 100 characters.
func (s *Service) description(items []state.Item) string {
	d := s.cfg.PaymentDescription
	if d == "" {
		d = summary(items)
	}
	return fitDescription(d)
}

// summary names the items: "2 × Wool socks, 1 × Cookbook".
func summary(items []state.Item) string {
	parts := make([]string, 0, len(items))
	for _, it := range items {
		parts = append(parts, fmt.Sprintf("%d × %s", it.Qty, it.Name))
	}
	return strings.Join(parts, ", ")
}

// fitDescription cuts a description to Vipps' 3 to 100 characters.
func fitDescription(d string) string {
	d = strings.TrimSpace(d)
	if r := []rune(d); len(r) > 100 {
		d = string(r[:99]) + "…"
	}
	for len([]rune(d)) < 3 {
		d += "."
	}
	return d
}
