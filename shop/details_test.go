package shop

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// buyerUnreadable is a store whose buyer details cannot be read while
// fail is set, as when the database is briefly unreachable.
type buyerUnreadable struct {
	*state.BadgerStore
	fail atomic.Bool
}

func (s *buyerUnreadable) Buyer(ref string) (*state.Buyer, error) {
	if s.fail.Load() {
		return nil, state.ErrUnavailable
	}
	return s.BadgerStore.Buyer(ref)
}

// TestSharedDetailsNeverOverwriteUnreadBuyer: the details a buyer shares
// in the app are merged with what the shop holds (the phone number typed
// at checkout). While that cannot be read, nothing is written; once it
// can, both are kept.
func TestSharedDetailsNeverOverwriteUnreadBuyer(t *testing.T) {
	h := newHarness(t)
	store := &buyerUnreadable{BadgerStore: h.store}
	catalog, err := NewCatalog("NOK", harnessProducts)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Config{PublicURL: "https://shop.example", ReferencePrefix: "test", MerchantSerialNumber: harnessMSN, Collect: []string{"name"}},
		catalog, store, h.client("shop"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc.SetClock(h.clock.Now)
	ctx := context.Background()
	res, err := svc.Checkout(ctx, CheckoutRequest{Lines: []CartLine{{SKU: "socks", Qty: 1}}, Phone: "+47 912 34 567"})
	if err != nil {
		t.Fatal(err)
	}
	ref := res.Order.Reference
	if err := h.sim.Approve(ref); err != nil {
		t.Fatal(err)
	}

	store.fail.Store(true)
	if _, err := svc.Refresh(ctx, ref, state.SourceReturn); !errors.Is(err, state.ErrUnavailable) {
		t.Fatalf("refresh with the buyer unreadable: %v", err)
	}
	if b, err := h.store.Buyer(ref); err != nil || b.Phone != "4791234567" || b.Name != "" {
		t.Fatalf("the stored buyer changed while it could not be read: %+v %v", b, err)
	}

	store.fail.Store(false)
	if o, err := svc.Refresh(ctx, ref, state.SourceReturn); err != nil || o.Status != state.StatusAuthorized {
		t.Fatalf("refresh: %+v %v", o, err)
	}
	if b, err := h.store.Buyer(ref); err != nil || b.Phone != "4791234567" || b.Name == "" {
		t.Fatalf("the buyer after the details were shared: %+v %v", b, err)
	}
}
