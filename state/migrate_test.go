package state

import (
	"testing"
)

// TestMigrateDerivesStatusOnce: an order stored by version 1 as "refunded"
// while money was still reserved is opened as partially_captured, joins
// the watched orders, and the migration runs once.
func TestMigrateDerivesStatusOnce(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenBadger(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := newOrder(ref(1), 44700)
	o.Schema = 1
	o.Status = StatusRefunded
	o.Payment = Payment{State: "AUTHORIZED", Authorized: 44700, Captured: 14900, Refunded: 14900}
	fine := newOrder(ref(2), 1000)
	fine.Schema = 1
	fine.Status = StatusCaptured
	fine.Payment = Payment{State: "AUTHORIZED", Authorized: 1000, Captured: 1000}
	if err := s.Import([]*Order{o, fine}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMeta(schemaMetaKey, []byte("1")); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = OpenBadger(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, _ := s.Get(ref(1))
	if got.Status != StatusPartiallyCaptured || got.Schema != SchemaVersion || got.NextCheckAt.IsZero() {
		t.Fatalf("migrated order: status %s schema %d next check %v", got.Status, got.Schema, got.NextCheckAt)
	}
	if h := got.History[len(got.History)-1]; h.From != StatusRefunded || h.To != StatusPartiallyCaptured {
		t.Fatalf("history: %+v", got.History)
	}
	if list, _, _ := s.List("", 10, ListFilter{Status: []Status{StatusRefunded}}); len(list) != 0 {
		t.Fatalf("still listed as refunded: %d", len(list))
	}
	if list, _, _ := s.List("", 10, ListFilter{Status: []Status{StatusPartiallyCaptured}}); len(list) != 1 {
		t.Fatalf("listed as partially captured: %d", len(list))
	}
	if got, _ := s.Get(ref(2)); got.Status != StatusCaptured || got.Schema != SchemaVersion || !got.NextCheckAt.IsZero() {
		t.Fatalf("other order: %+v", got)
	}
	if raw, _ := s.GetMeta(schemaMetaKey); string(raw) != "2" {
		t.Fatalf("schema marker %q", raw)
	}
}
