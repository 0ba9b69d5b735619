package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// NewLink is a single-use link of amount.
func NewLink(id string, amount int64) *state.Link {
	return &state.Link{
		ID: id, Token: "token-of-" + id, Description: "A custom table",
		Items:    []state.Item{{SKU: id, Name: "A custom table", Qty: 1, UnitPrice: amount, VATRate: 2500}},
		Currency: "NOK", Amount: amount,
	}
}

// singleUse is the admission rule the contract tests use: a single-use
// link takes a new order while its holder ended unpaid (or there is
// none), a reusable one always.
func singleUse(ref string) func(l *state.Link, holder *state.Order) error {
	return func(l *state.Link, holder *state.Order) error {
		if !l.Reusable && holder != nil && (holder.Status.Pending() || holder.Payment.Authorized > 0) {
			return errLinkTaken
		}
		l.Orders++
		if !l.Reusable {
			l.Holder = ref
		}
		return nil
	}
}

var errLinkTaken = errors.New("the link is taken")

func testLinks(t *testing.T, open Opener) {
	clock := start()
	s := open(t, clock.Now)
	for i := range 5 {
		clock.Advance(time.Second)
		l := NewLink(fmt.Sprintf("link-%d", i), int64(100*(i+1)))
		l.CreatedAt = clock.Now()
		if err := s.CreateLink(l); err != nil {
			t.Fatal(err)
		}
	}
	dup := NewLink("link-0", 1)
	if err := s.CreateLink(dup); !errors.Is(err, state.ErrExists) {
		t.Fatalf("a second link with one ID: %v", err)
	}
	sameToken := NewLink("link-other", 1)
	sameToken.Token = "token-of-link-1"
	if err := s.CreateLink(sameToken); !errors.Is(err, state.ErrExists) {
		t.Fatalf("a second link with one token: %v", err)
	}
	got, err := s.GetLink("link-2")
	if err != nil || got.Amount != 300 || got.Token != "token-of-link-2" || got.Items[0].VATRate != 2500 {
		t.Fatalf("get: %+v %v", got, err)
	}
	got, err = s.LinkByToken(state.Hash("token-of-link-3"))
	if err != nil || got.ID != "link-3" {
		t.Fatalf("by token: %+v %v", got, err)
	}
	for _, bad := range []string{state.Hash("token-of-link-9"), "token-of-link-3", ""} {
		if _, err := s.LinkByToken(bad); !errors.Is(err, state.ErrNotFound) {
			t.Fatalf("by token %q: %v", bad, err)
		}
	}
	if _, err := s.GetLink("nope"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("missing link: %v", err)
	}
	// Newest first, in stable pages.
	page, next, err := s.ListLinks("", 3)
	if err != nil || len(page) != 3 || page[0].ID != "link-4" || next == "" {
		t.Fatalf("first page: %d %v %q", len(page), err, next)
	}
	rest, next, err := s.ListLinks(next, 3)
	if err != nil || len(rest) != 2 || rest[1].ID != "link-0" || next != "" {
		t.Fatalf("second page: %d %v %q", len(rest), err, next)
	}
	// Update writes what fn did, or nothing when it fails.
	off := clock.Now()
	if _, err := s.UpdateLink("link-1", func(l *state.Link) error { l.DisabledAt = off; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateLink("link-1", func(l *state.Link) error { l.Amount = 1; return errLinkTaken }); !errors.Is(err, errLinkTaken) {
		t.Fatalf("failing update: %v", err)
	}
	got, _ = s.GetLink("link-1")
	if !got.DisabledAt.Equal(off) || got.Amount != 200 {
		t.Fatalf("after updates: %+v", got)
	}
	if _, err := s.UpdateLink("nope", func(*state.Link) error { return nil }); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("update of a missing link: %v", err)
	}
}

func testLinkOrders(t *testing.T, open Opener) {
	clock := start()
	s := open(t, clock.Now)
	single, reusable := NewLink("single", 500), NewLink("reusable", 700)
	reusable.Reusable = true
	for _, l := range []*state.Link{single, reusable} {
		if err := s.CreateLink(l); err != nil {
			t.Fatal(err)
		}
	}
	add := func(link, ref string) error {
		clock.Advance(time.Second)
		_, err := s.CreateLinkOrder(link, NewOrder(ref, 500), singleUse(ref))
		return err
	}
	if err := add("single", Ref(1)); err != nil {
		t.Fatal(err)
	}
	// The holder waits for the buyer: no second order.
	if err := add("single", Ref(2)); !errors.Is(err, errLinkTaken) {
		t.Fatalf("second order while the first waits: %v", err)
	}
	if _, err := s.Get(Ref(2)); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("a refused order was stored: %v", err)
	}
	// The holder ends unpaid: the link takes the next buyer.
	if _, _, err := s.Update(Ref(1), state.SourceWebhook, func(o *state.Order, tx *state.Tx) error {
		_, err := o.ApplyPayment(state.Observation{State: "ABORTED"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := add("single", Ref(3)); err != nil {
		t.Fatalf("after the holder was aborted: %v", err)
	}
	authorize(t, s, Ref(3), 500)
	if err := add("single", Ref(4)); !errors.Is(err, errLinkTaken) {
		t.Fatalf("an order after the link was paid: %v", err)
	}
	for i := 5; i < 8; i++ {
		if err := add("reusable", Ref(i)); err != nil {
			t.Fatal(err)
		}
	}
	l, _ := s.GetLink("single")
	if l.Orders != 2 || l.Holder != Ref(3) {
		t.Fatalf("single-use link after its orders: %+v", l)
	}
	o, _ := s.Get(Ref(3))
	if o.Link != "single" || o.Status != state.StatusAuthorized {
		t.Fatalf("the order does not name its link: %+v", o)
	}
	// The orders of a link, newest first.
	got, _, err := s.List("", 10, state.ListFilter{Link: "single"})
	if err != nil || len(got) != 2 || got[0].Reference != Ref(3) || got[1].Reference != Ref(1) {
		t.Fatalf("orders of the single-use link: %d %v", len(got), err)
	}
	page, next, _ := s.List("", 2, state.ListFilter{Link: "reusable"})
	rest, _, _ := s.List(next, 2, state.ListFilter{Link: "reusable"})
	if len(page) != 2 || len(rest) != 1 || rest[0].Reference != Ref(5) {
		t.Fatalf("pages of the reusable link's orders: %d then %d", len(page), len(rest))
	}
	if all, _, _ := s.List("", 100, state.ListFilter{}); len(all) != 5 {
		t.Fatalf("all orders: %d", len(all))
	}
	if _, _, err := s.List("", 10, state.ListFilter{Link: "single", Status: []state.Status{state.StatusNew}}); !errors.Is(err, state.ErrInvalidFilter) {
		t.Fatalf("link and status together: %v", err)
	}
	if _, err := s.CreateLinkOrder("nope", NewOrder(Ref(9), 1), singleUse(Ref(9))); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("an order for a missing link: %v", err)
	}
}

func testLinkOrdersRace(t *testing.T, open Opener) {
	s := open(t, time.Now)
	RaceLinkOrders(t, []state.Store{s})
}

// RaceLinkOrders sends 24 buyers at one single-use link at once, through
// the given stores: exactly one order is stored and admitted.
func RaceLinkOrders(t *testing.T, stores []state.Store) {
	if err := stores[0].CreateLink(NewLink("contested", 900)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var admitted, refused atomic.Int32
	for i := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ref := Ref(100 + i)
			_, err := stores[i%len(stores)].CreateLinkOrder("contested", NewOrder(ref, 900), singleUse(ref))
			switch {
			case err == nil:
				admitted.Add(1)
			case errors.Is(err, errLinkTaken):
				refused.Add(1)
			default:
				t.Errorf("buyer %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	orders, _, err := stores[0].List("", 100, state.ListFilter{Link: "contested"})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := stores[0].GetLink("contested")
	if admitted.Load() != 1 || refused.Load() != 23 || len(orders) != 1 || l.Orders != 1 || l.Holder != orders[0].Reference {
		t.Fatalf("admitted %d, refused %d, %d orders stored, link %+v", admitted.Load(), refused.Load(), len(orders), l)
	}
}
