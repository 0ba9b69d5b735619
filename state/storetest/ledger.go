package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/state"
)

func ledger(t *testing.T, s state.Store, from, to time.Time) []state.LedgerRow {
	t.Helper()
	rows, err := s.Ledger(from, to)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func sameRows(t *testing.T, got, want []state.LedgerRow) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("ledger rows:\n got %+v\nwant %+v", got, want)
	}
	for i := range got {
		if !got[i].Hour.Equal(want[i].Hour) || got[i].Captured != want[i].Captured || got[i].Refunded != want[i].Refunded || got[i].Orders != want[i].Orders {
			t.Fatalf("ledger row %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
}

// testLedgerCountsEachChangeOnce: every kind of change that moves money
// (captures, a refund, an order made from a link) lands in the ledger
// row of its hour, once; a change replayed, a change of something else
// and a release move nothing.
func testLedgerCountsEachChangeOnce(t *testing.T, open Opener) {
	clock := start() // 12:00 UTC
	s := open(t, clock.Now)
	h12 := clock.Now()
	for i := 1; i <= 3; i++ {
		mustCreate(t, s, NewOrder(Ref(i), 1000))
	}
	if err := s.CreateLink(NewLink("desk", 700)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateLinkOrder("desk", NewOrder(Ref(4), 700), singleUse(Ref(4))); err != nil {
		t.Fatal(err)
	}
	authorize(t, s, Ref(1), 1000)
	authorize(t, s, Ref(2), 1000)
	authorize(t, s, Ref(4), 700)
	clock.Advance(30 * time.Minute) // 12:30: a partial capture, a link order captured on payment
	observe(t, s, Ref(1), state.Observation{State: "AUTHORIZED", Authorized: 1000, Captured: 600})
	observe(t, s, Ref(4), state.Observation{State: "AUTHORIZED", Authorized: 700, Captured: 700})
	clock.Advance(40 * time.Minute) // 13:10: the rest, then the same report again
	observe(t, s, Ref(1), state.Observation{State: "AUTHORIZED", Authorized: 1000, Captured: 1000})
	if _, changed, err := s.Update(Ref(1), state.SourceWebhook, func(o *state.Order, tx *state.Tx) error {
		_, err := o.ApplyPayment(state.Observation{State: "AUTHORIZED", Authorized: 1000, Captured: 1000})
		return err
	}); err != nil || changed {
		t.Fatalf("a replayed report: changed %v, %v", changed, err)
	}
	clock.Advance(10 * time.Minute) // 13:20: a refund, a release, a note
	observe(t, s, Ref(1), state.Observation{State: "AUTHORIZED", Authorized: 1000, Captured: 1000, Refunded: 300})
	observe(t, s, Ref(2), state.Observation{State: "AUTHORIZED", Authorized: 1000, Cancelled: 1000})
	if _, _, err := s.Update(Ref(3), state.SourceMerchant, func(o *state.Order, tx *state.Tx) error {
		tx.Note("looked at")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	h13 := h12.Add(time.Hour)
	sameRows(t, ledger(t, s, h12.Add(-24*time.Hour), h12.Add(24*time.Hour)), []state.LedgerRow{
		{Hour: h12, Captured: 600 + 700, Orders: 4},
		{Hour: h13, Captured: 400, Refunded: 300},
	})
	// The bounds: from inclusive, to exclusive.
	sameRows(t, ledger(t, s, h13, h13.Add(time.Hour)), []state.LedgerRow{{Hour: h13, Captured: 400, Refunded: 300}})
	sameRows(t, ledger(t, s, h12, h13), []state.LedgerRow{{Hour: h12, Captured: 1300, Orders: 4}})
	sameRows(t, ledger(t, s, h13.Add(time.Hour), h13.Add(48*time.Hour)), nil)
}

// testLedgerConcurrentCaptures: captures of many orders at once, all in
// the same hour, are all counted (no write of the ledger is lost to
// another).
func testLedgerConcurrentCaptures(t *testing.T, open Opener) {
	clock := start()
	s := open(t, clock.Now)
	const n = 40
	// Made at once (Badger stores them in batches), each reference twice:
	// every order counted once, a refused second one not at all.
	var made sync.WaitGroup
	dup := make(chan error, 2*n)
	for i := range 2 * n {
		made.Add(1)
		go func() {
			defer made.Done()
			if err := s.Create(NewOrder(Ref(i%n), int64(100+i%n))); err != nil {
				dup <- err
			}
		}()
	}
	made.Wait()
	close(dup)
	refused := 0
	for err := range dup {
		if !errors.Is(err, state.ErrExists) {
			t.Fatal(err)
		}
		refused++
	}
	if refused != n {
		t.Fatalf("%d second creates refused, want %d", refused, n)
	}
	h := clock.Now()
	sameRows(t, ledger(t, s, h, h.Add(time.Hour)), []state.LedgerRow{{Hour: h, Orders: n}})
	for i := range n {
		authorize(t, s, Ref(i), int64(100+i))
	}
	var (
		wg   sync.WaitGroup
		want int64
	)
	errs := make(chan error, n)
	for i := range n {
		want += int64(100 + i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := s.Update(Ref(i), state.SourceWebhook, func(o *state.Order, tx *state.Tx) error {
				_, err := o.ApplyPayment(state.Observation{State: "AUTHORIZED", Authorized: int64(100 + i), Captured: int64(100 + i)})
				return err
			})
			if err != nil {
				errs <- fmt.Errorf("capture %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	sameRows(t, ledger(t, s, h, h.Add(time.Hour)), []state.LedgerRow{{Hour: h, Captured: want, Orders: n}})
}

// testOldest: orders to ship are those with money reserved, oldest first,
// counted; orders waiting are those whose outcome is open.
func testOldest(t *testing.T, open Opener) {
	clock := start()
	s := open(t, clock.Now)
	for i := 1; i <= 6; i++ {
		clock.Advance(time.Minute)
		mustCreate(t, s, NewOrder(Ref(i), 1000))
	}
	// 1 and 2 still wait; 3 fully captured; 4 partially; 5 and 6 reserved.
	for i := 3; i <= 6; i++ {
		authorize(t, s, Ref(i), 1000)
	}
	observe(t, s, Ref(3), state.Observation{State: "AUTHORIZED", Authorized: 1000, Captured: 1000})
	observe(t, s, Ref(4), state.Observation{State: "AUTHORIZED", Authorized: 1000, Captured: 400})
	refs := func(os []*state.Order) []string {
		var out []string
		for _, o := range os {
			out = append(out, o.Reference)
		}
		return out
	}
	got, n, err := s.Oldest(state.BacklogToShip, 2)
	if err != nil || n != 3 || fmt.Sprint(refs(got)) != fmt.Sprint([]string{Ref(4), Ref(5)}) {
		t.Fatalf("to ship: %v (%d), %v", refs(got), n, err)
	}
	if got[0].Payment.Reserved() != 600 {
		t.Fatalf("to ship: reserved %d", got[0].Payment.Reserved())
	}
	got, n, err = s.Oldest(state.BacklogWaiting, 10)
	if err != nil || n != 2 || fmt.Sprint(refs(got)) != fmt.Sprint([]string{Ref(1), Ref(2)}) {
		t.Fatalf("waiting: %v (%d), %v", refs(got), n, err)
	}
	// Released: off the list.
	observe(t, s, Ref(5), state.Observation{State: "AUTHORIZED", Authorized: 1000, Cancelled: 1000})
	got, n, err = s.Oldest(state.BacklogToShip, 10)
	if err != nil || n != 2 || fmt.Sprint(refs(got)) != fmt.Sprint([]string{Ref(4), Ref(6)}) {
		t.Fatalf("to ship after a release: %v (%d), %v", refs(got), n, err)
	}
	if _, _, err := s.Oldest("nothing", 1); err == nil {
		t.Fatal("an unknown backlog was read")
	}
}
