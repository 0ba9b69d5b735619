package state

import (
	"errors"
	"fmt"
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
