// Package storetest is the contract every engine of the order store must
// keep: one suite of tests, run unchanged against Badger (package state)
// and PostgreSQL (package state/postgres).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// Opener opens a new, empty store for one test, with a clock; it closes
// it when the test ends.
type Opener func(t *testing.T, now func() time.Time) state.Store

// Clock is a settable clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at start.
func NewClock(start time.Time) *Clock { return &Clock{t: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Ref names test order i.
func Ref(i int) string { return fmt.Sprintf("test-%08d", i) }

// NewOrder is a simple order of amount.
func NewOrder(ref string, amount int64) *state.Order {
	return &state.Order{
		Reference: ref,
		Items:     []state.Item{{SKU: "socks", Name: "Socks", Qty: 1, UnitPrice: amount, VATRate: 2500}},
		Currency:  "NOK",
		Amount:    amount,
		CreateKey: "key-" + ref,
	}
}

func mustCreate(t *testing.T, s state.Store, o *state.Order) {
	t.Helper()
	if err := s.Create(o); err != nil {
		t.Fatal(err)
	}
}

func authorize(t *testing.T, s state.Store, ref string, amount int64) {
	t.Helper()
	if _, _, err := s.Update(ref, state.SourceWebhook, func(o *state.Order, tx *state.Tx) error {
		_, err := o.ApplyPayment(state.Observation{State: "AUTHORIZED", Authorized: amount})
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// Run runs the contract against an engine.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"CreateGetAndDuplicate", testCreateGetAndDuplicate},
		{"UpdateRefusesIllegalAndWritesNothing", testUpdateRefusesIllegal},
		{"ConcurrentTransitionsOnOneOrder", testConcurrentTransitions},
		{"OutboxLeasesAndCrashRecovery", testOutboxLeases},
		{"OutboxConcurrentWorkersRunEachJobOnce", testOutboxConcurrentWorkers},
		{"DeadJobs", testDeadJobs},
		{"UpdateDropsJobs", testUpdateDropsJobs},
		{"ListPaginationStableWhileAdding", testListPagination},
		{"ListFilters", testListFilters},
		{"ClaimChecksOnlyWatchedAndLeased", testClaimChecks},
		{"BuyerDetailsExpireAndErase", testBuyers},
		{"Meta", testMeta},
		{"KeyedRequests", testKeyedRequests},
		{"KeyedRequestsRace", testKeyedRequestsRace},
		{"Signatures", testSignatures},
		{"Exclusive", testExclusive},
		{"Links", testLinks},
		{"LinkOrders", testLinkOrders},
		{"RecordCreated", testRecordCreated},
		{"LinkOrdersRace", testLinkOrdersRace},
		{"PurgeAbandoned", testPurgeAbandoned},
		{"CountEvent", testCountEvent},
		{"LedgerCountsEachChangeOnce", testLedgerCountsEachChangeOnce},
		{"LedgerConcurrentCaptures", testLedgerConcurrentCaptures},
		{"Oldest", testOldest},
		{"Closed", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open) })
	}
}

func start() *Clock { return NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)) }

func testCreateGetAndDuplicate(t *testing.T, open Opener) {
	s := open(t, start().Now)
	mustCreate(t, s, NewOrder(Ref(1), 1000))
	got, err := s.Get(Ref(1))
	if err != nil || got.Amount != 1000 || got.Status != state.StatusNew || got.Schema != state.SchemaVersion || len(got.History) != 1 {
		t.Fatalf("got %+v, %v", got, err)
	}
	if err := s.Create(NewOrder(Ref(1), 5)); !errors.Is(err, state.ErrExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	if _, err := s.Get("nope-0000"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("missing order: %v", err)
	}
	if _, _, err := s.Update("nope-0000", state.SourceWebhook, func(*state.Order, *state.Tx) error { return nil }); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("update of a missing order: %v", err)
	}
}

func testUpdateRefusesIllegal(t *testing.T, open Opener) {
	s := open(t, start().Now)
	mustCreate(t, s, NewOrder(Ref(1), 1000))
	authorize(t, s, Ref(1), 1000)
	bad := []func(o *state.Order, tx *state.Tx) error{
		func(o *state.Order, tx *state.Tx) error { o.Status = state.StatusPending; return nil },
		func(o *state.Order, tx *state.Tx) error { o.Payment.Captured = 2000; return nil },
		func(o *state.Order, tx *state.Tx) error { o.Payment.Authorized = 10; return nil },
		func(o *state.Order, tx *state.Tx) error { o.Payment.State = "CREATED"; return nil },
		func(o *state.Order, tx *state.Tx) error { o.Reference = "other-ref-1"; return nil },
	}
	for i, fn := range bad {
		_, changed, err := s.Update(Ref(1), state.SourceMerchant, func(o *state.Order, tx *state.Tx) error {
			tx.Enqueue(state.Job{Kind: "x"})
			return fn(o, tx)
		})
		var ite *state.IllegalTransitionError
		if !errors.As(err, &ite) || changed {
			t.Errorf("case %d: err %v changed %v", i, err, changed)
		}
	}
	o, _ := s.Get(Ref(1))
	if o.Status != state.StatusAuthorized || o.Payment.Captured != 0 || len(o.History) != 2 {
		t.Fatalf("order changed by refused updates: %+v", o)
	}
	if jobs, _ := s.PendingJobs(); len(jobs) != 0 {
		t.Fatalf("refused updates enqueued %d jobs", len(jobs))
	}
	before, _ := s.Get(Ref(1))
	_, changed, err := s.Update(Ref(1), state.SourcePoller, func(o *state.Order, tx *state.Tx) error {
		_, err := o.ApplyPayment(state.Observation{State: "AUTHORIZED", Authorized: 1000})
		return err
	})
	after, _ := s.Get(Ref(1))
	if err != nil || changed || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("duplicate observation: changed %v err %v", changed, err)
	}
}

// testConcurrentTransitions races 200 goroutines applying captures,
// releases, refunds and observations to one order: the result keeps the
// money rules, and the history explains every status change.
func testConcurrentTransitions(t *testing.T, open Opener) {
	s := open(t, time.Now)
	RaceTransitions(t, []state.Store{s}, Ref(1))
}

// RaceTransitions races transitions on one order through the given stores
// (one, or several instances on one database) and checks the outcome.
func RaceTransitions(t *testing.T, stores []state.Store, ref string) {
	mustCreate(t, stores[0], NewOrder(ref, 10000))
	authorize(t, stores[0], ref, 10000)
	var wg sync.WaitGroup
	var cancels atomic.Int32
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[i%len(stores)]
			kind := []string{"capture", "cancel", "observe", "refund"}[i%4]
			_, changed, err := s.Update(ref, state.Source(kind), func(o *state.Order, tx *state.Tx) error {
				p := o.Payment
				switch kind {
				case "capture":
					amount := int64(rand.IntN(3000) + 1)
					if amount > p.Reserved() {
						return state.ErrNoChange
					}
					o.Payment.Captured += amount
				case "cancel":
					if p.Reserved() == 0 {
						return state.ErrNoChange
					}
					o.Payment.Cancelled += p.Reserved()
				case "refund":
					if p.Refundable() == 0 {
						return state.ErrNoChange
					}
					o.Payment.Refunded = p.Captured
				case "observe":
					_, err := o.ApplyPayment(state.Observation{State: "AUTHORIZED", Authorized: 10000})
					return err
				}
				tx.Note("%s %d", kind, i)
				return nil
			})
			if err != nil {
				t.Errorf("update %d: %v", i, err)
				return
			}
			if changed && kind == "cancel" {
				cancels.Add(1)
			}
		}()
	}
	wg.Wait()
	o, err := stores[0].Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	if o.Payment.Reserved() < 0 || o.Payment.Refundable() < 0 {
		t.Fatalf("money rules broken: %+v", o.Payment)
	}
	if o.Status != state.DeriveStatus(o.Payment, o.Status) {
		t.Fatalf("status %s does not match payment %+v", o.Status, o.Payment)
	}
	if n := cancels.Load(); n > 1 {
		t.Fatalf("the reservation was released %d times", n)
	}
	for i := 1; i < len(o.History); i++ {
		if o.History[i].From != o.History[i-1].To {
			t.Fatalf("history entry %d starts at %s but the previous ended at %s", i, o.History[i].From, o.History[i-1].To)
		}
	}
	if last := o.History[len(o.History)-1]; last.To != o.Status {
		t.Fatalf("history ends at %s, order is %s", last.To, o.Status)
	}
}

func testOutboxLeases(t *testing.T, open Opener) {
	clock := start()
	s := open(t, clock.Now)
	mustCreate(t, s, NewOrder(Ref(1), 1000))
	if _, _, err := s.Update(Ref(1), state.SourceWebhook, func(o *state.Order, tx *state.Tx) error {
		if _, err := o.ApplyPayment(state.Observation{State: "AUTHORIZED", Authorized: 1000}); err != nil {
			return err
		}
		o.Receipt = "queued"
		tx.Enqueue(state.Job{ID: "receipt-1", Kind: "receipt", NotBefore: clock.Now()})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.ClaimJobs(clock.Now(), time.Minute, 10)
	if err != nil || len(jobs) != 1 || jobs[0].Attempts != 1 || jobs[0].Ref != Ref(1) {
		t.Fatalf("claim: %+v %v", jobs, err)
	}
	if again, _ := s.ClaimJobs(clock.Now(), time.Minute, 10); len(again) != 0 {
		t.Fatalf("leased job claimed twice: %+v", again)
	}
	// The worker dies; after the lease the job is handed out again.
	clock.Advance(61 * time.Second)
	jobs, _ = s.ClaimJobs(clock.Now(), time.Minute, 10)
	if len(jobs) != 1 || jobs[0].Attempts != 2 {
		t.Fatalf("after lease expiry: %+v", jobs)
	}
	if err := s.RetryJob(jobs[0], errors.New("vipps down"), clock.Now().Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if early, _ := s.ClaimJobs(clock.Now(), time.Minute, 10); len(early) != 0 {
		t.Fatal("retried job claimed before its time")
	}
	clock.Advance(31 * time.Second)
	jobs, _ = s.ClaimJobs(clock.Now(), time.Minute, 10)
	if len(jobs) != 1 || jobs[0].LastError != "vipps down" {
		t.Fatalf("retry: %+v", jobs)
	}
	if err := s.CompleteJob(jobs[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteJob(jobs[0]); err != nil {
		t.Fatalf("completing twice: %v", err)
	}
	clock.Advance(time.Hour)
	if left, _ := s.ClaimJobs(clock.Now(), time.Minute, 10); len(left) != 0 {
		t.Fatalf("completed job came back: %+v", left)
	}
}

// testUpdateDropsJobs: a transition removes jobs in its own transaction, a
// waiting one and one given up on, even when the order itself does not
// change; dropping a job that is gone is no error.
func testUpdateDropsJobs(t *testing.T, open Opener) {
	clock := start()
	s := open(t, clock.Now)
	mustCreate(t, s, NewOrder(Ref(1), 1000))
	if _, _, err := s.Update(Ref(1), state.SourceMerchant, func(o *state.Order, tx *state.Tx) error {
		o.Meta = map[string]string{"k": "v"}
		tx.Enqueue(state.Job{ID: "waiting", Kind: "k", NotBefore: clock.Now().Add(time.Hour)})
		tx.Enqueue(state.Job{ID: "doomed", Kind: "k", NotBefore: clock.Now()})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	doomed, _ := s.ClaimJobs(clock.Now(), time.Minute, 10)
	if len(doomed) != 1 || s.DeadJob(doomed[0], errors.New("gave up")) != nil {
		t.Fatalf("claim and bury: %+v", doomed)
	}
	_, changed, err := s.Update(Ref(1), state.SourceMerchant, func(o *state.Order, tx *state.Tx) error {
		tx.DropJob("waiting")
		tx.DropJob("doomed")
		tx.DropJob("never-was")
		return state.ErrNoChange
	})
	if err != nil || changed {
		t.Fatalf("drop: changed %v, %v", changed, err)
	}
	clock.Advance(2 * time.Hour)
	if left, _ := s.ClaimJobs(clock.Now(), time.Minute, 10); len(left) != 0 {
		t.Fatalf("a dropped job is still waiting: %+v", left)
	}
	if dead, _ := s.DeadJobs(); len(dead) != 0 {
		t.Fatalf("a dropped job is still among the dead: %+v", dead)
	}
}

func testOutboxConcurrentWorkers(t *testing.T, open Opener) {
	clock := start()
	s := open(t, clock.Now)
	RaceWorkers(t, []state.Store{s}, clock)
}

// RaceWorkers runs 300 jobs with four workers spread over the given stores:
// each job runs exactly once.
func RaceWorkers(t *testing.T, stores []state.Store, clock *Clock) {
	mustCreate(t, stores[0], NewOrder(Ref(1), 1000))
	const jobs = 300
	for i := range jobs {
		if _, _, err := stores[0].Update(Ref(1), state.SourceWorker, func(o *state.Order, tx *state.Tx) error {
			tx.Enqueue(state.Job{ID: fmt.Sprintf("job-%04d", i), Kind: "k"})
			return state.ErrNoChange
		}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	ran := map[string]int{}
	var wg sync.WaitGroup
	for w := range 4 {
		s := stores[w%len(stores)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.ClaimJobs(clock.Now(), time.Hour, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				for _, j := range got {
					mu.Lock()
					ran[j.ID]++
					mu.Unlock()
					if err := s.CompleteJob(j); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if len(ran) != jobs {
		t.Fatalf("%d jobs ran, want %d", len(ran), jobs)
	}
	for id, n := range ran {
		if n != 1 {
			t.Fatalf("job %s ran %d times", id, n)
		}
	}
}

func testDeadJobs(t *testing.T, open Opener) {
	clock := start()
	s := open(t, clock.Now)
	if err := s.Create(NewOrder(Ref(1), 1000), state.Job{ID: "j1", Kind: "receipt", Ref: Ref(1)}); err != nil {
		t.Fatal(err)
	}
	jobs, _ := s.ClaimJobs(clock.Now(), time.Minute, 10)
	if len(jobs) != 1 {
		t.Fatalf("claimed %d", len(jobs))
	}
	if err := s.DeadJob(jobs[0], errors.New("refused")); err != nil {
		t.Fatal(err)
	}
	dead, _ := s.DeadJobs()
	pending, _ := s.PendingJobs()
	if len(dead) != 1 || dead[0].LastError != "refused" || len(pending) != 0 {
		t.Fatalf("dead %+v pending %+v", dead, pending)
	}
	clock.Advance(time.Hour)
	if again, _ := s.ClaimJobs(clock.Now(), time.Minute, 10); len(again) != 0 {
		t.Fatalf("a dead job was claimed: %+v", again)
	}
	// Completing a buried job (its work done another way) clears it.
	if err := s.CompleteJob(dead[0]); err != nil {
		t.Fatal(err)
	}
	if dead, _ := s.DeadJobs(); len(dead) != 0 {
		t.Fatalf("still dead: %+v", dead)
	}
}

func testListPagination(t *testing.T, open Opener) {
	clock := start()
	s := open(t, clock.Now)
	for i := range 25 {
		clock.Advance(time.Second)
		mustCreate(t, s, NewOrder(Ref(i), 100))
	}
	// Two orders in the same nanosecond still page in a stable order.
	for _, r := range []string{"same-b0000000", "same-a0000000"} {
		mustCreate(t, s, NewOrder(r, 100))
	}
	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		orders, next, err := s.List(cursor, 10, state.ListFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range orders {
			seen = append(seen, o.Reference)
		}
		clock.Advance(time.Second)
		mustCreate(t, s, NewOrder(fmt.Sprintf("late-%08d", page), 100))
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 27 || seen[0] != "same-a0000000" || seen[1] != "same-b0000000" {
		t.Fatalf("saw %d orders: %v", len(seen), seen)
	}
	for i, r := range seen[2:] {
		if want := Ref(24 - i); r != want {
			t.Fatalf("position %d: %s, want %s (newest first)", i+2, r, want)
		}
	}
	if _, _, err := s.List("garbage", 10, state.ListFilter{}); err == nil {
		t.Fatal("a bad cursor was accepted")
	}
}

func testListFilters(t *testing.T, open Opener) {
	clock := NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := open(t, clock.Now)
	for i := range 10 {
		clock.Advance(24 * time.Hour)
		mustCreate(t, s, NewOrder(Ref(i), 100))
		if i%3 == 0 {
			authorize(t, s, Ref(i), 100)
		}
	}
	got, _, err := s.List("", 100, state.ListFilter{Status: []state.Status{state.StatusAuthorized}})
	if err != nil || len(got) != 4 {
		t.Fatalf("authorized: %d %v", len(got), err)
	}
	got, _, _ = s.List("", 100, state.ListFilter{Status: []state.Status{state.StatusAuthorized, state.StatusNew}})
	if len(got) != 10 || got[0].Reference != Ref(9) {
		t.Fatalf("two statuses: %d, first %s", len(got), got[0].Reference)
	}
	got, _, _ = s.List("", 100, state.ListFilter{From: time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)})
	if len(got) != 3 {
		t.Fatalf("date range: %d", len(got))
	}
	page, next, _ := s.List("", 3, state.ListFilter{Status: []state.Status{state.StatusNew}})
	rest, _, _ := s.List(next, 100, state.ListFilter{Status: []state.Status{state.StatusNew}})
	if len(page) != 3 || len(rest) != 3 || rest[0].Reference != Ref(4) {
		t.Fatalf("pages of a filter: %d then %d", len(page), len(rest))
	}
	if _, _, err := s.List("", 10, state.ListFilter{Status: []state.Status{"bogus"}}); err == nil {
		t.Fatal("unknown status accepted")
	}
}

func testClaimChecks(t *testing.T, open Opener) {
	clock := start()
	s := open(t, clock.Now)
	done := NewOrder("done-00000001", 100)
	done.Status, done.NextCheckAt = state.StatusCaptured, clock.Now()
	mustCreate(t, s, done) // settled: never watched
	for i := range 3 {
		o := NewOrder(Ref(i), 100)
		o.NextCheckAt = clock.Now().Add(time.Duration(i) * time.Minute)
		mustCreate(t, s, o)
	}
	due, err := s.ClaimChecks(clock.Now().Add(90*time.Second), time.Minute, 100)
	if err != nil || len(due) != 2 || !contains(due, Ref(0)) || !contains(due, Ref(1)) {
		t.Fatalf("due = %v, %v", due, err)
	}
	// Leased: another poller gets nothing of them.
	if again, _ := s.ClaimChecks(clock.Now().Add(90*time.Second), time.Minute, 100); len(again) != 0 {
		t.Fatalf("claimed twice: %v", again)
	}
	clock.Advance(3 * time.Minute)
	// An order that settles leaves the watched orders.
	if _, _, err := s.Update(Ref(0), state.SourcePoller, func(o *state.Order, tx *state.Tx) error {
		_, err := o.ApplyPayment(state.Observation{State: "EXPIRED"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	due, _ = s.ClaimChecks(clock.Now(), time.Minute, 100)
	if len(due) != 2 || contains(due, Ref(0)) || contains(due, "done-00000001") {
		t.Fatalf("due after the lease and the expiry = %v", due)
	}
	// An order with money reserved stays watched at its own pace.
	authorize(t, s, Ref(1), 100)
	if _, _, err := s.Update(Ref(1), state.SourcePoller, func(o *state.Order, tx *state.Tx) error {
		o.NextCheckAt = clock.Now().Add(6 * time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Minute)
	due, _ = s.ClaimChecks(clock.Now(), time.Minute, 100)
	if len(due) != 1 || due[0] != Ref(2) {
		t.Fatalf("due = %v, want only %s", due, Ref(2))
	}
	clock.Advance(6 * time.Hour)
	due, _ = s.ClaimChecks(clock.Now(), time.Minute, 100)
	if !contains(due, Ref(1)) {
		t.Fatalf("the reserved order was not due: %v", due)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func testBuyers(t *testing.T, open Opener) {
	clock := start()
	s := open(t, clock.Now)
	mustCreate(t, s, NewOrder(Ref(1), 100))
	mustCreate(t, s, NewOrder(Ref(2), 100))
	if err := s.PutBuyer(Ref(1), state.Buyer{Phone: "4791234567"}, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.PutBuyer(Ref(2), state.Buyer{Name: "Ada"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if b, err := s.Buyer(Ref(1)); err != nil || b.Phone != "4791234567" {
		t.Fatalf("buyer %+v %v", b, err)
	}
	// Past the retention (on the store's clock, and in real time for an
	// engine whose expiry is the database's own).
	clock.Advance(2 * time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := s.Buyer(Ref(1)); errors.Is(err, state.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("buyer details did not expire")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if o, err := s.Get(Ref(1)); err != nil || o.Amount != 100 {
		t.Fatalf("the order went with the buyer details: %v", err)
	}
	// A buyer's wish to be forgotten.
	if err := s.EraseBuyer(Ref(2)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Buyer(Ref(2)); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("erased buyer: %v", err)
	}
	if err := s.EraseBuyer(Ref(2)); err != nil {
		t.Fatalf("erasing twice: %v", err)
	}
}

func testMeta(t *testing.T, open Opener) {
	s := open(t, start().Now)
	if _, err := s.GetMeta("x"); !errors.Is(err, state.ErrNotFound) {
		t.Fatal(err)
	}
	for _, v := range []string{"v", "w"} {
		if err := s.PutMeta("x", []byte(v)); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetMeta("x"); err != nil || string(got) != v {
			t.Fatalf("%q %v", got, err)
		}
	}
}

func testKeyedRequests(t *testing.T, open Opener) {
	clock := start()
	s := open(t, clock.Now)
	const lease = time.Minute
	rec, fresh, err := s.BeginRequest("erp-ship-1", "fp-a", Ref(1), lease)
	if err != nil || !fresh || rec.Answered() {
		t.Fatalf("first begin: %+v fresh %v err %v", rec, fresh, err)
	}
	if _, _, err := s.BeginRequest("erp-ship-1", "fp-a", Ref(1), lease); !errors.Is(err, state.ErrKeyInFlight) {
		t.Fatalf("second begin while in flight: %v", err)
	}
	if _, _, err := s.BeginRequest("erp-ship-1", "fp-b", Ref(1), lease); !errors.Is(err, state.ErrKeyReused) {
		t.Fatalf("other body under the key: %v", err)
	}
	if err := s.AnswerRequest("erp-ship-1", state.Answer{Status: 200, ContentType: "application/json", Body: []byte(`{"ok":true}`), OpID: "op-1"}); err != nil {
		t.Fatal(err)
	}
	rec, fresh, err = s.BeginRequest("erp-ship-1", "fp-a", Ref(1), lease)
	if err != nil || fresh || rec.Status != 200 || string(rec.Body) != `{"ok":true}` || rec.OpID != "op-1" || rec.ContentType != "application/json" {
		t.Fatalf("replay: %+v fresh %v err %v", rec, fresh, err)
	}
	clock.Advance(state.RequestKeyTTL - time.Second)
	if rec, fresh, _ := s.BeginRequest("erp-ship-1", "fp-a", Ref(1), lease); fresh || rec.Status != 200 {
		t.Fatalf("replay before the day is over: %+v fresh %v", rec, fresh)
	}
	clock.Advance(2 * time.Second)
	if rec, fresh, err := s.BeginRequest("erp-ship-1", "fp-b", Ref(2), lease); err != nil || !fresh || rec.Answered() {
		t.Fatalf("after a day: %+v fresh %v err %v", rec, fresh, err)
	}
	if _, fresh, _ := s.BeginRequest("erp-cancel-9", "fp", Ref(3), lease); !fresh {
		t.Fatal("not fresh")
	}
	clock.Advance(lease + time.Second)
	if _, fresh, err := s.BeginRequest("erp-cancel-9", "fp", Ref(3), lease); err != nil || !fresh {
		t.Fatalf("after the lease: fresh %v err %v", fresh, err)
	}
	if err := s.ForgetRequest("erp-cancel-9"); err != nil {
		t.Fatal(err)
	}
	if _, fresh, err := s.BeginRequest("erp-cancel-9", "other", Ref(3), lease); err != nil || !fresh {
		t.Fatalf("after forgetting: fresh %v err %v", fresh, err)
	}
	if err := s.AnswerRequest("never-begun", state.Answer{Status: 200}); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("answering an unknown key: %v", err)
	}
}

func testKeyedRequestsRace(t *testing.T, open Opener) {
	s := open(t, time.Now)
	RaceKeys(t, []state.Store{s})
}

// RaceKeys begins one key 32 times at once through the given stores: once
// it starts, every other attempt is in flight.
func RaceKeys(t *testing.T, stores []state.Store) {
	var wg sync.WaitGroup
	var started, inFlight atomic.Int32
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, fresh, err := stores[i%len(stores)].BeginRequest("same-key", "fp", Ref(1), time.Minute)
			switch {
			case err == nil && fresh:
				started.Add(1)
			case errors.Is(err, state.ErrKeyInFlight):
				inFlight.Add(1)
			default:
				t.Errorf("fresh %v err %v", fresh, err)
			}
		}()
	}
	wg.Wait()
	if started.Load() != 1 || inFlight.Load() != 31 {
		t.Fatalf("started %d, in flight %d", started.Load(), inFlight.Load())
	}
}

func testSignatures(t *testing.T, open Opener) {
	clock := start()
	s := open(t, clock.Now)
	if seen, err := s.SeenSignature("sig-1"); err != nil || seen {
		t.Fatalf("unknown signature: %v %v", seen, err)
	}
	if err := s.RememberSignature("sig-1", clock.Now().Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if seen, _ := s.SeenSignature("sig-1"); !seen {
		t.Fatal("a remembered signature is not seen")
	}
	if seen, _ := s.SeenSignature("sig-2"); seen {
		t.Fatal("another signature is seen")
	}
	clock.Advance(11 * time.Minute)
	if seen, _ := s.SeenSignature("sig-1"); seen {
		t.Fatal("an old signature is still seen")
	}
}

func testExclusive(t *testing.T, open Opener) {
	s := open(t, time.Now)
	RaceExclusive(t, []state.Store{s})
}

// RaceExclusive runs 8 sections of one name at once through the given
// stores: never two at a time; another name is not held up.
func RaceExclusive(t *testing.T, stores []state.Store) {
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := stores[i%len(stores)].Exclusive(context.Background(), "webhook", func() error {
				n := inside.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(20 * time.Millisecond)
				inside.Add(-1)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	other := make(chan error, 1)
	go func() {
		other <- stores[0].Exclusive(context.Background(), "other", func() error { return errors.New("ran") })
	}()
	select {
	case err := <-other:
		if err == nil || err.Error() != "ran" {
			t.Errorf("another name: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("another name waited")
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Fatalf("%d sections ran at once", most.Load())
	}
}

func testClosed(t *testing.T, open Opener) {
	s := open(t, start().Now)
	mustCreate(t, s, NewOrder(Ref(1), 100))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(Ref(1)); !errors.Is(err, state.ErrClosed) {
		t.Fatalf("get after close: %v", err)
	}
	if err := s.Create(NewOrder(Ref(2), 100)); !errors.Is(err, state.ErrClosed) {
		t.Fatalf("create after close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("closing twice: %v", err)
	}
}
