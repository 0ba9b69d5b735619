package state

import (
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// TestLedgerBuiltOnceForOlderStores: a store written before the ledger
// existed (no ledger rows, no index of orders to ship, no marker) gets
// both built from its orders when it opens, by the times their histories
// hold, and only once.
func TestLedgerBuiltOnceForOlderStores(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 3, 2, 9, 15, 0, 0, time.UTC)
	now := func() time.Time { return at }
	s, err := OpenBadger(dir, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	pay := func(ref string, p Payment) {
		t.Helper()
		if _, _, err := s.Update(ref, SourceWebhook, func(o *Order, tx *Tx) error {
			_, err := o.ApplyPayment(Observation{State: "AUTHORIZED", Authorized: p.Authorized, Captured: p.Captured, Refunded: p.Refunded})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 3; i++ {
		if err := s.Create(newOrder(ref(i), 1000)); err != nil {
			t.Fatal(err)
		}
		pay(ref(i), Payment{Authorized: 1000})
	}
	at = at.Add(2 * time.Hour) // 11:15
	pay(ref(1), Payment{Authorized: 1000, Captured: 1000})
	at = at.Add(26 * time.Hour) // the next day, 13:15
	pay(ref(1), Payment{Authorized: 1000, Captured: 1000, Refunded: 250})
	pay(ref(2), Payment{Authorized: 1000, Captured: 1000})
	from, to := at.Add(-72*time.Hour), at.Add(time.Hour)
	live, err := s.Ledger(from, to)
	if err != nil || len(live) != 3 {
		t.Fatalf("ledger as written: %+v, %v", live, err)
	}
	// As an older version left it.
	err = s.db.Update(func(txn *badger.Txn) error {
		for _, p := range []string{prefixLedger, prefixToShip} {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(p)})
			var keys [][]byte
			for it.Rewind(); it.Valid(); it.Next() {
				keys = append(keys, it.Item().KeyCopy(nil))
			}
			it.Close()
			for _, k := range keys {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
		}
		return txn.Delete([]byte(prefixMeta + ledgerMetaKey))
	})
	if err != nil {
		t.Fatal(err)
	}
	if rows, _ := s.Ledger(from, to); len(rows) != 0 {
		t.Fatalf("rows left: %+v", rows)
	}
	s.Close()

	for range 2 { // built at the first open, left alone at the second
		s, err = OpenBadger(dir, Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		built, err := s.Ledger(from, to)
		if err != nil || len(built) != len(live) {
			t.Fatalf("built %+v, %v; as written %+v", built, err, live)
		}
		for i := range live {
			if built[i] != live[i] {
				t.Fatalf("row %d built %+v, as written %+v", i, built[i], live[i])
			}
		}
		ship, n, err := s.Oldest(BacklogToShip, 10)
		if err != nil || n != 1 || ship[0].Reference != ref(3) {
			t.Fatalf("to ship: %d %v", n, err)
		}
		s.Close()
	}
}
