package state

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestListFilters(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := openTest(t, clock)
	for i := range 10 {
		clock.Advance(24 * time.Hour)
		mustCreate(t, s, newOrder(ref(i), 100))
		if i%3 == 0 {
			if _, _, err := s.Update(ref(i), SourceWebhook, func(o *Order, tx *Tx) error {
				_, err := o.ApplyPayment(Observation{State: "AUTHORIZED", Authorized: 100})
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, _, err := s.List("", 100, ListFilter{Status: []Status{StatusAuthorized}})
	if err != nil || len(got) != 4 {
		t.Fatalf("authorized: %d %v", len(got), err)
	}
	got, _, _ = s.List("", 100, ListFilter{Status: []Status{StatusAuthorized, StatusNew}})
	if len(got) != 10 || got[0].Reference != ref(9) {
		t.Fatalf("two statuses: %d, first %s", len(got), got[0].Reference)
	}
	got, _, _ = s.List("", 100, ListFilter{From: time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)})
	if len(got) != 3 {
		t.Fatalf("date range: %d", len(got))
	}
	if n, _ := s.Count(ListFilter{Status: []Status{StatusNew}}); n != 6 {
		t.Fatalf("count new = %d", n)
	}
	if _, _, err := s.List("", 10, ListFilter{Status: []Status{"bogus"}}); err == nil {
		t.Fatal("unknown status accepted")
	}
}

// TestDueChecksReadsOnlyPending: finished orders are not in the pending
// index at all, so the poller's work does not grow with them.
func TestDueChecksReadsOnlyPending(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := openTest(t, clock)
	for i := range 2000 {
		o := newOrder(fmt.Sprintf("done-%08d", i), 100)
		o.Status = StatusCaptured
		o.NextCheckAt = clock.Now()
		mustCreate(t, s, o)
	}
	for i := range 3 {
		o := newOrder(ref(i), 100)
		o.NextCheckAt = clock.Now().Add(time.Duration(i) * time.Minute)
		mustCreate(t, s, o)
	}
	due, err := s.DueChecks(clock.Now().Add(90*time.Second), 100)
	if err != nil || len(due) != 2 || due[0] != ref(0) || due[1] != ref(1) {
		t.Fatalf("due = %v, %v", due, err)
	}
	keys := 0
	_ = s.db.View(func(txn *badgerTxn) error { keys = countPrefix(txn, prefixPending); return nil })
	if keys != 3 {
		t.Fatalf("pending index holds %d keys, want 3", keys)
	}
	// Once final, an order leaves the index.
	if _, _, err := s.Update(ref(0), SourcePoller, func(o *Order, tx *Tx) error {
		_, err := o.ApplyPayment(Observation{State: "EXPIRED"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	due, _ = s.DueChecks(clock.Now().Add(time.Hour), 100)
	if len(due) != 2 || due[0] != ref(1) {
		t.Fatalf("due after expiry = %v", due)
	}
}

func TestSecondOpenIsLocked(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenBadger(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := OpenBadger(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
}

// TestEveryCommitIsSynced: the database syncs the write-ahead log of the
// memtable each commit lands in before the commit returns (Badger's
// SyncWrites). A power cut cannot be staged in a test; what can be checked
// is that no commit relies on a later DB.Sync, which reaches only the
// newest memtable.
func TestEveryCommitIsSynced(t *testing.T) {
	s := openTest(t, nil)
	if !s.DB().Opts().SyncWrites {
		t.Fatal("the order database does not sync its commits")
	}
}

// TestConcurrentCreatesShareCommits: many buyers' orders stored at once,
// some with a reference taken twice, are stored together (see
// createBatch) and each caller hears its own outcome: every reference
// stored once, every second try ErrExists, every stored order readable.
func TestConcurrentCreatesShareCommits(t *testing.T) {
	s, err := OpenBadger(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 300
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Create(newOrder(ref(i%250), int64(100+i)))
		}()
	}
	wg.Wait()
	stored, exists := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			stored++
		case errors.Is(err, ErrExists) && i%250 < 50:
			exists++
		default:
			t.Fatalf("create %d: %v", i, err)
		}
	}
	if stored != 250 || exists != 50 {
		t.Fatalf("stored %d, refused as taken %d", stored, exists)
	}
	for i := range 250 {
		if _, err := s.Get(ref(i)); err != nil {
			t.Fatalf("order %d: %v", i, err)
		}
	}
	if n, _ := s.CountOrders(); n != 250 {
		t.Fatalf("%d orders stored", n)
	}
}

// TestCreateAnswersWaitForTheirOrdersNextWrite: a create answer is held
// in memory, shown by every read, and goes to disk with its order's next
// write (a transition, or the poller's claim), never with other orders
// and without a write of its own; one held too long, or too many held,
// are written on their own; a store that closes writes what it holds.
func TestCreateAnswersWaitForTheirOrdersNextWrite(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenBadger(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	apart := func(ref string) bool {
		t.Helper()
		found := false
		_ = s.view(func(txn *badgerTxn) error {
			_, err := txn.Get([]byte(prefixCreateAnswer + ref))
			found = err == nil
			return nil
		})
		return found
	}
	stored := func(ref string) string {
		t.Helper()
		var o *Order
		if err := s.view(func(txn *badgerTxn) (err error) { o, _, err = s.getOrderRaw(txn, ref); return err }); err != nil {
			t.Fatal(err)
		}
		return o.RedirectURL
	}
	held := func(ref string) bool { _, ok := s.heldAnswer(ref); return ok }
	pendingOrder := func(i int) string {
		o := newOrder(ref(i), 100)
		o.Status, o.NextCheckAt = StatusPending, time.Now().Add(time.Second)
		if err := s.Create(o); err != nil {
			t.Fatal(err)
		}
		return o.Reference
	}
	answer := CreateAnswer{RedirectURL: "https://vipps.example/1", At: time.Now()}
	record := func(r string) {
		t.Helper()
		if err := s.RecordCreated(r, answer); err != nil {
			t.Fatal(err)
		}
	}

	// Shown at once; not written, not even with the next new order.
	first := pendingOrder(1)
	record(first)
	if o, _ := s.Get(first); o.RedirectURL != answer.RedirectURL || o.Payment.State != "CREATED" {
		t.Fatalf("right after: shown %+v", o)
	}
	pendingOrder(2)
	if apart(first) || stored(first) != "" || !held(first) {
		t.Fatalf("after the next order: apart %v, stored %q, held %v", apart(first), stored(first), held(first))
	}
	// The order's next transition stores it with the order.
	if _, _, err := s.Update(first, SourceWebhook, func(o *Order, tx *Tx) error {
		_, err := o.ApplyPayment(Observation{State: "AUTHORIZED", Authorized: 100})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if stored(first) != answer.RedirectURL || apart(first) || held(first) {
		t.Fatalf("after the transition: stored %q, apart %v, held %v", stored(first), apart(first), held(first))
	}
	// The poller's claim stores it with the order.
	record(ref(2))
	if claimed, err := s.ClaimChecks(time.Now().Add(time.Hour), time.Minute, 10); err != nil || !slices.Contains(claimed, ref(2)) {
		t.Fatalf("claimed %v, %v", claimed, err)
	}
	if stored(ref(2)) != answer.RedirectURL || apart(ref(2)) || held(ref(2)) {
		t.Fatalf("after the claim: stored %q, apart %v, held %v", stored(ref(2)), apart(ref(2)), held(ref(2)))
	}
	// On its own once held too long.
	s.answers.mu.Lock()
	s.answers.hold = 50 * time.Millisecond
	s.answers.arm(0) // the timer set for the default hold
	s.answers.mu.Unlock()
	third := pendingOrder(3)
	record(third)
	deadline := time.Now().Add(5 * time.Second)
	for !apart(third) {
		if time.Now().After(deadline) {
			t.Fatal("an answer held too long was not written on its own")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if held(third) {
		t.Fatal("an answer written is still held")
	}
	// All at once when too many are held.
	s.answers.mu.Lock()
	s.answers.hold, s.answers.max = time.Hour, 3
	s.answers.mu.Unlock()
	many := []string{pendingOrder(4), pendingOrder(5), pendingOrder(6)}
	for _, r := range many {
		record(r)
	}
	deadline = time.Now().Add(5 * time.Second)
	for _, r := range many {
		for !apart(r) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: too many answers held were not written", r)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// At close.
	s.answers.mu.Lock()
	s.answers.max = 0
	s.answers.mu.Unlock()
	last := pendingOrder(7)
	record(last)
	if apart(last) {
		t.Fatal("written before its time")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = OpenBadger(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 1; i <= 7; i++ {
		if o, err := s.Get(ref(i)); err != nil || o.RedirectURL != answer.RedirectURL || o.Payment.State == "" {
			t.Fatalf("%s after reopening: %+v %v", ref(i), o, err)
		}
	}
}

// TestBackupHasHeldCreateAnswers: a backup taken while a create answer
// waits in memory for its order's next write has the answer.
func TestBackupHasHeldCreateAnswers(t *testing.T) {
	s, err := OpenBadger(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	o := newOrder(ref(1), 100)
	o.Status = StatusPending
	mustCreate(t, s, o)
	if err := s.RecordCreated(o.Reference, CreateAnswer{RedirectURL: "https://vipps.example/1", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := s.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	restored, err := OpenBadger(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	if err := restored.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	if got, err := restored.Get(o.Reference); err != nil || got.RedirectURL != "https://vipps.example/1" || got.Payment.State != "CREATED" {
		t.Fatalf("restored: %+v %v", got, err)
	}
}
