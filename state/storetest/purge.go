package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// observe records what Vipps says of an order's payment.
func observe(t *testing.T, s state.Store, ref string, obs state.Observation, jobs ...state.Job) {
	t.Helper()
	if _, _, err := s.Update(ref, state.SourceWebhook, func(o *state.Order, tx *state.Tx) error {
		for _, j := range jobs {
			tx.Enqueue(j)
		}
		_, err := o.ApplyPayment(obs)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// testPurgeAbandoned: orders that never moved money and are older than
// the cut-off go, with their indexes, jobs, buyer details and their
// place in their link; every order that moved an amount, every order
// still open and every younger one stays.
func testPurgeAbandoned(t *testing.T, open Opener) {
	clock := start()
	s := open(t, clock.Now)
	link := NewLink("reusable", 500)
	link.Reusable = true
	single := NewLink("single", 500)
	for _, l := range []*state.Link{link, single} {
		if err := s.CreateLink(l); err != nil {
			t.Fatal(err)
		}
	}
	// Old orders, a day before the cut-off.
	mustCreate(t, s, NewOrder(Ref(1), 100)) // expired
	observe(t, s, Ref(1), state.Observation{State: "EXPIRED"}, state.Job{Kind: "notify", Ref: Ref(1), NotBefore: clock.Now().Add(time.Hour)})
	if err := s.PutBuyer(Ref(1), state.Buyer{Phone: "4791234567"}, 0); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, NewOrder(Ref(2), 100)) // aborted
	observe(t, s, Ref(2), state.Observation{State: "ABORTED"})
	mustCreate(t, s, NewOrder(Ref(3), 100)) // authorized, then released: money moved
	authorize(t, s, Ref(3), 100)
	observe(t, s, Ref(3), state.Observation{State: "AUTHORIZED", Authorized: 100, Cancelled: 100})
	mustCreate(t, s, NewOrder(Ref(4), 100)) // still waiting for the buyer
	mustCreate(t, s, NewOrder(Ref(5), 100)) // paid
	authorize(t, s, Ref(5), 100)
	if _, err := s.CreateLinkOrder("reusable", NewOrder(Ref(6), 500), singleUse(Ref(6))); err != nil {
		t.Fatal(err)
	}
	observe(t, s, Ref(6), state.Observation{State: "EXPIRED"})
	if _, err := s.CreateLinkOrder("reusable", NewOrder(Ref(7), 500), singleUse(Ref(7))); err != nil {
		t.Fatal(err)
	}
	authorize(t, s, Ref(7), 500)
	if _, err := s.CreateLinkOrder("single", NewOrder(Ref(8), 500), singleUse(Ref(8))); err != nil {
		t.Fatal(err)
	}
	observe(t, s, Ref(8), state.Observation{State: "ABORTED"})
	clock.Advance(24 * time.Hour)
	cutoff := clock.Now()
	clock.Advance(time.Second)
	mustCreate(t, s, NewOrder(Ref(9), 100)) // young: made after the cut-off
	observe(t, s, Ref(9), state.Observation{State: "EXPIRED"})

	var gone []string
	for {
		batch, err := s.PurgeAbandoned(cutoff, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 {
			break
		}
		gone = append(gone, batch...)
	}
	slices.Sort(gone)
	if want := []string{Ref(1), Ref(2), Ref(6), Ref(8)}; !slices.Equal(gone, want) {
		t.Fatalf("purged %v, want %v", gone, want)
	}
	for _, ref := range gone {
		if _, err := s.Get(ref); !errors.Is(err, state.ErrNotFound) {
			t.Errorf("purged order %s is still there: %v", ref, err)
		}
	}
	for _, ref := range []string{Ref(3), Ref(4), Ref(5), Ref(7), Ref(9)} {
		if _, err := s.Get(ref); err != nil {
			t.Errorf("order %s was not kept: %v", ref, err)
		}
	}
	if _, err := s.Buyer(Ref(1)); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("a purged order's buyer details are kept: %v", err)
	}
	jobs, err := s.PendingJobs()
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if slices.Contains(gone, j.Ref) {
			t.Errorf("a purged order's job is kept: %+v", j)
		}
	}
	all, _, err := s.List("", 100, state.ListFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 {
		t.Errorf("the list shows %d orders, want the 5 kept", len(all))
	}
	for _, st := range state.AbandonedStatuses {
		orders, _, err := s.List("", 100, state.ListFilter{Status: []state.Status{st}})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range orders {
			if slices.Contains(gone, o.Reference) {
				t.Errorf("the %s index still lists %s", st, o.Reference)
			}
		}
	}
	byLink, _, err := s.List("", 100, state.ListFilter{Link: "reusable"})
	if err != nil || len(byLink) != 1 || byLink[0].Reference != Ref(7) {
		t.Fatalf("the reusable link's orders: %v %v", byLink, err)
	}
	if l, err := s.GetLink("reusable"); err != nil || l.Orders != 1 {
		t.Fatalf("the reusable link counts %+v %v, want 1 order", l, err)
	}
	if l, err := s.GetLink("single"); err != nil || l.Orders != 0 || l.Holder != "" {
		t.Fatalf("the single-use link after its aborted order went: %+v %v", l, err)
	}
	if again, err := s.PurgeAbandoned(clock.Now().Add(time.Hour), 100); err != nil || !slices.Equal(again, []string{Ref(9)}) {
		t.Fatalf("a later purge took %v (%v), want only the young abandoned order", again, err)
	}
}

// testCountEvent: counts add up within a window, start again after it,
// and keys count apart.
func testCountEvent(t *testing.T, open Opener) {
	clock := start()
	s := open(t, clock.Now)
	for want := 1; want <= 3; want++ {
		if n, err := s.CountEvent("push/a", 10*time.Minute); err != nil || n != want {
			t.Fatalf("count %d: %d %v", want, n, err)
		}
		clock.Advance(time.Minute)
	}
	if n, err := s.CountEvent("push/b", 10*time.Minute); err != nil || n != 1 {
		t.Fatalf("another key: %d %v", n, err)
	}
	clock.Advance(7 * time.Minute) // the window of push/a began 10 minutes ago
	if n, err := s.CountEvent("push/a", 10*time.Minute); err != nil || n != 1 {
		t.Fatalf("after the window: %d %v", n, err)
	}
	if n, err := s.CountEvent("push/b", 10*time.Minute); err != nil || n != 2 {
		t.Fatalf("push/b within its window: %d %v", n, err)
	}
}
