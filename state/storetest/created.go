package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// testRecordCreated: an order stored pending before its create is sent
// shows Vipps' answer as soon as it is recorded, in every read (by
// reference, in the lists and filters); the order's next transition keeps
// it; it never moves an order that went on.
func testRecordCreated(t *testing.T, open Opener) {
	clock := start()
	s := open(t, clock.Now)
	o := NewOrder(Ref(1), 1000)
	o.Status = state.StatusPending
	mustCreate(t, s, o)
	if got, _ := s.Get(Ref(1)); got.Status != state.StatusPending || got.PaymentKnown() {
		t.Fatalf("stored before the create: %s, payment known %v", got.Status, got.PaymentKnown())
	}
	// Becoming pending needs the payment at Vipps; staying pending does not.
	if _, _, err := s.Update(Ref(1), state.SourceWebhook, func(o *state.Order, tx *state.Tx) error { o.Checks++; return nil }); err != nil {
		t.Fatalf("a transition of a pending order whose payment is not known: %v", err)
	}
	clock.Advance(time.Second)
	answer := state.CreateAnswer{RedirectURL: "https://vipps.example/pay/1", At: clock.Now()}
	if err := s.RecordCreated(Ref(1), answer); err != nil {
		t.Fatal(err)
	}
	check := func(when string, o *state.Order) {
		t.Helper()
		if o.Status != state.StatusPending || o.Payment.State != "CREATED" || o.RedirectURL != answer.RedirectURL {
			t.Fatalf("%s: %s %q %q", when, o.Status, o.Payment.State, o.RedirectURL)
		}
		last := o.History[len(o.History)-1]
		if last.Note != state.CreatedNote || !last.At.Equal(answer.At) {
			t.Fatalf("%s: history %+v", when, o.History)
		}
	}
	got, _ := s.Get(Ref(1))
	check("get", got)
	list, _, err := s.List("", 10, state.ListFilter{Status: []state.Status{state.StatusPending}})
	if err != nil || len(list) != 1 {
		t.Fatalf("pending filter: %d, %v", len(list), err)
	}
	check("list", list[0])
	// Recorded again (a create sent again answers the same): no change.
	if err := s.RecordCreated(Ref(1), state.CreateAnswer{RedirectURL: answer.RedirectURL, At: clock.Now().Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.Get(Ref(1)); len(again.History) != len(got.History) {
		t.Fatalf("the same answer again: history %d → %d", len(got.History), len(again.History))
	}
	// The next transition keeps it.
	clock.Advance(time.Second)
	after, changed, err := s.Update(Ref(1), state.SourcePoller, func(o *state.Order, tx *state.Tx) error { o.Checks++; return nil })
	if err != nil || !changed {
		t.Fatalf("next transition: %v %v", changed, err)
	}
	check("next transition", after)
	authorize(t, s, Ref(1), 1000)
	got, _ = s.Get(Ref(1))
	if got.Status != state.StatusAuthorized || got.RedirectURL != answer.RedirectURL {
		t.Fatalf("authorized: %s %q", got.Status, got.RedirectURL)
	}
	// A late answer does not move an order that went on.
	if err := s.RecordCreated(Ref(1), state.CreateAnswer{RedirectURL: "https://vipps.example/other", At: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if late, _ := s.Get(Ref(1)); late.Status != state.StatusAuthorized || late.RedirectURL != answer.RedirectURL {
		t.Fatalf("a late answer: %s %q", late.Status, late.RedirectURL)
	}
	// An unknown order: nothing any read shows.
	if err := s.RecordCreated("nope-0000", answer); err != nil && !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("an unknown order: %v", err)
	}
	if _, err := s.Get("nope-0000"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("an unknown order after its answer: %v", err)
	}
	// An order stored new (by an earlier version) is not made pending by
	// hand: only Vipps' answer does that.
	mustCreate(t, s, NewOrder(Ref(2), 500))
	var ite *state.IllegalTransitionError
	if _, _, err := s.Update(Ref(2), state.SourceMerchant, func(o *state.Order, tx *state.Tx) error { o.Status = state.StatusPending; return nil }); !errors.As(err, &ite) {
		t.Fatalf("new made pending by hand: %v", err)
	}
	if err := s.RecordCreated(Ref(2), answer); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(Ref(2)); got.Status != state.StatusPending {
		t.Fatalf("a new order's answer: %s", got.Status)
	}
}
