package state

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func TestCreateGetAndDuplicate(t *testing.T) {
	s := openTest(t, nil)
	o := newOrder(ref(1), 1000)
	mustCreate(t, s, o)
	got, err := s.Get(ref(1))
	if err != nil || got.Amount != 1000 || got.Status != StatusNew || got.Schema != SchemaVersion || len(got.History) != 1 {
		t.Fatalf("got %+v, %v", got, err)
	}
	if err := s.Create(newOrder(ref(1), 5)); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	if _, err := s.Get("nope-0000"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing order: %v", err)
	}
}

func TestUpdateRejectsIllegalAndWritesNothing(t *testing.T) {
	s := openTest(t, nil)
	mustCreate(t, s, newOrder(ref(1), 1000))
	if _, _, err := s.Update(ref(1), SourceWebhook, func(o *Order, tx *Tx) error {
		_, err := o.ApplyPayment(Observation{State: "AUTHORIZED", Authorized: 1000})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	bad := []func(o *Order, tx *Tx) error{
		func(o *Order, tx *Tx) error { o.Status = StatusPending; return nil },
		func(o *Order, tx *Tx) error { o.Payment.Captured = 2000; return nil },
		func(o *Order, tx *Tx) error { o.Payment.Authorized = 10; return nil },
		func(o *Order, tx *Tx) error { o.Payment.State = "CREATED"; return nil },
		func(o *Order, tx *Tx) error { o.Reference = "other-ref-1"; return nil },
	}
	for i, fn := range bad {
		_, changed, err := s.Update(ref(1), SourceMerchant, func(o *Order, tx *Tx) error {
			tx.Enqueue(Job{Kind: "x"})
			return fn(o, tx)
		})
		var ite *IllegalTransitionError
		if !errors.As(err, &ite) || changed {
			t.Errorf("case %d: err %v changed %v", i, err, changed)
		}
	}
	o, _ := s.Get(ref(1))
	if o.Status != StatusAuthorized || o.Payment.Captured != 0 || len(o.History) != 2 {
		t.Fatalf("order changed by refused updates: %+v", o)
	}
	if jobs, _ := s.PendingJobs(); len(jobs) != 0 {
		t.Fatalf("refused updates enqueued %d jobs", len(jobs))
	}
	// No change: nothing written, not even UpdatedAt.
	before, _ := s.Get(ref(1))
	_, changed, err := s.Update(ref(1), SourcePoller, func(o *Order, tx *Tx) error {
		_, err := o.ApplyPayment(Observation{State: "AUTHORIZED", Authorized: 1000})
		return err
	})
	after, _ := s.Get(ref(1))
	if err != nil || changed || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("duplicate observation: changed %v err %v", changed, err)
	}
}

// TestConcurrentTransitionsOnOneOrder races 200 goroutines applying
// captures, cancels and observations to one order. The result must satisfy
// the money invariants, and the history must explain every status change.
func TestConcurrentTransitionsOnOneOrder(t *testing.T) {
	s := openTest(t, nil)
	mustCreate(t, s, newOrder(ref(1), 10000))
	if _, _, err := s.Update(ref(1), SourceReturn, func(o *Order, tx *Tx) error {
		_, err := o.ApplyPayment(Observation{State: "AUTHORIZED", Authorized: 10000})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	applied := map[string]int{}
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kind := []string{"capture", "cancel", "observe", "refund"}[i%4]
			_, changed, err := s.Update(ref(1), Source(kind), func(o *Order, tx *Tx) error {
				p := o.Payment
				switch kind {
				case "capture":
					amount := int64(rand.IntN(3000) + 1)
					if p.Captured+p.Cancelled+amount > p.Authorized {
						return ErrNoChange
					}
					o.Payment.Captured += amount
				case "cancel":
					rest := p.Authorized - p.Captured - p.Cancelled
					if rest == 0 {
						return ErrNoChange
					}
					o.Payment.Cancelled += rest
				case "refund":
					if p.Refunded >= p.Captured {
						return ErrNoChange
					}
					o.Payment.Refunded = p.Captured
				case "observe":
					_, err := o.ApplyPayment(Observation{State: "AUTHORIZED", Authorized: 10000})
					return err
				}
				o.Status = DeriveStatus(o.Payment, o.Status)
				tx.Note("%s %d", kind, i)
				return nil
			})
			if err != nil {
				var ite *IllegalTransitionError
				if !errors.As(err, &ite) {
					t.Errorf("update %d: %v", i, err)
				}
				return
			}
			if changed {
				mu.Lock()
				applied[kind]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	o, err := s.Get(ref(1))
	if err != nil {
		t.Fatal(err)
	}
	if reason := checkMoney(o.Payment); reason != "" {
		t.Fatalf("invariant broken: %s: %+v", reason, o.Payment)
	}
	if o.Status != DeriveStatus(o.Payment, o.Status) {
		t.Fatalf("status %s does not match payment %+v", o.Status, o.Payment)
	}
	if applied["cancel"] > 1 {
		t.Fatalf("the reservation was released %d times", applied["cancel"])
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

func TestOutboxLeasesAndCrashRecovery(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	s := openTest(t, clock)
	mustCreate(t, s, newOrder(ref(1), 1000))
	// The job is written with the transition that causes it.
	if _, _, err := s.Update(ref(1), SourceWebhook, func(o *Order, tx *Tx) error {
		if _, err := o.ApplyPayment(Observation{State: "AUTHORIZED", Authorized: 1000}); err != nil {
			return err
		}
		o.Receipt = "queued"
		tx.Enqueue(Job{ID: "receipt-1", Kind: "receipt", NotBefore: clock.Now()})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.ClaimJobs(clock.Now(), time.Minute, 10)
	if err != nil || len(jobs) != 1 || jobs[0].Attempts != 1 || jobs[0].Ref != ref(1) {
		t.Fatalf("claim: %+v %v", jobs, err)
	}
	// Leased: nobody else gets it.
	if again, _ := s.ClaimJobs(clock.Now(), time.Minute, 10); len(again) != 0 {
		t.Fatalf("leased job claimed twice: %+v", again)
	}
	// The worker "crashes" (never completes). After the lease, the job is
	// handed out again.
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

func TestOutboxConcurrentWorkersRunEachJobOnce(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	s := openTest(t, clock)
	mustCreate(t, s, newOrder(ref(1), 1000))
	const jobs = 300
	for i := range jobs {
		if _, _, err := s.Update(ref(1), SourceWorker, func(o *Order, tx *Tx) error {
			tx.Enqueue(Job{ID: fmt.Sprintf("job-%04d", i), Kind: "k"})
			return ErrNoChange
		}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	ran := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
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

func TestDeadJobs(t *testing.T) {
	s := openTest(t, nil)
	if err := s.Create(newOrder(ref(1), 1000), Job{ID: "j1", Kind: "receipt", Ref: ref(1)}); err != nil {
		t.Fatal(err)
	}
	jobs, _ := s.ClaimJobs(time.Now(), time.Minute, 10)
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
}

func TestListPaginationStableWhileAdding(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := openTest(t, clock)
	for i := range 25 {
		clock.Advance(time.Second)
		mustCreate(t, s, newOrder(ref(i), 100))
	}
	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		orders, next, err := s.List(cursor, 10, ListFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range orders {
			seen = append(seen, o.Reference)
		}
		// New orders arrive between pages.
		clock.Advance(time.Second)
		mustCreate(t, s, newOrder(fmt.Sprintf("late-%08d", page), 100))
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 25 {
		t.Fatalf("saw %d orders: %v", len(seen), seen)
	}
	for i, r := range seen {
		if want := ref(24 - i); r != want {
			t.Fatalf("position %d: %s, want %s (newest first)", i, r, want)
		}
	}
	if _, _, err := s.List("garbage", 10, ListFilter{}); err == nil {
		t.Fatal("a bad cursor was accepted")
	}
}

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

func TestBuyerDetailsExpire(t *testing.T) {
	s := openTest(t, nil)
	mustCreate(t, s, newOrder(ref(1), 100))
	if err := s.PutBuyer(ref(1), Buyer{Phone: "4791234567"}, time.Second); err != nil {
		t.Fatal(err)
	}
	if b, err := s.Buyer(ref(1)); err != nil || b.Phone != "4791234567" {
		t.Fatalf("buyer %+v %v", b, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := s.Buyer(ref(1)); errors.Is(err, ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("buyer details did not expire")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if o, err := s.Get(ref(1)); err != nil || o.Amount != 100 {
		t.Fatalf("the order went with the buyer details: %v", err)
	}
}

func TestMeta(t *testing.T) {
	s := openTest(t, nil)
	if _, err := s.GetMeta("x"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if err := s.PutMeta("x", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetMeta("x"); err != nil || string(v) != "v" {
		t.Fatalf("%q %v", v, err)
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
