package state

import (
	"errors"
	"reflect"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// TestOrderCacheNeverServesWhatIsNotStored: reads through the cache equal
// fresh decodes; a caller changing what it got changes nothing stored; a
// write whose transaction does not commit leaves the stored order to be
// read.
func TestOrderCacheNeverServesWhatIsNotStored(t *testing.T) {
	s := openTest(t, nil)
	mustCreate(t, s, newOrder(ref(1), 1000))
	if _, _, err := s.Update(ref(1), SourceWebhook, func(o *Order, tx *Tx) error {
		_, err := o.ApplyPayment(Observation{State: "AUTHORIZED", Authorized: 1000})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	fresh := func() *Order {
		t.Helper()
		var o *Order
		if err := s.db.View(func(txn *badger.Txn) error { return getJSON(txn, prefixOrder+ref(1), &o) }); err != nil {
			t.Fatal(err)
		}
		return o
	}
	got, err := s.Get(ref(1))
	if err != nil || !reflect.DeepEqual(got, fresh()) {
		t.Fatalf("cached read %+v differs from the stored %+v (%v)", got, fresh(), err)
	}

	got.Status, got.Items[0].Qty, got.History[0].Note = StatusCaptured, 99, "changed by a caller"
	again, _ := s.Get(ref(1))
	if again.Status != StatusAuthorized || again.Items[0].Qty == 99 || again.History[0].Note == "changed by a caller" {
		t.Fatalf("a caller's change reached the cache: %+v", again)
	}

	// A write the transaction then drops.
	dropped := errors.New("dropped")
	err = s.db.Update(func(txn *badger.Txn) error {
		o := again.Clone()
		o.Payment.Captured = 1000
		if err := s.putOrder(txn, o); err != nil {
			return err
		}
		return dropped
	})
	if !errors.Is(err, dropped) {
		t.Fatal(err)
	}
	if o, _ := s.Get(ref(1)); o.Payment.Captured != 0 || !reflect.DeepEqual(o, fresh()) {
		t.Fatalf("a write that never committed is read: %+v", o.Payment)
	}
}
