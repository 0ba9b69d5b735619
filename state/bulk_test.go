package state

import (
	"fmt"
	"testing"
	"time"
)

// TestImportIndexesLikeCreate: imported orders are listed, filtered by
// status and polled exactly as created ones.
func TestImportIndexesLikeCreate(t *testing.T) {
	s, err := OpenBadger(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var orders []*Order
	for i := range 300 {
		o := &Order{Reference: fmt.Sprintf("imp-%05d", i), Currency: "NOK", Amount: 100, Status: StatusCaptured, CreatedAt: base.Add(time.Duration(i) * time.Minute)}
		if i%100 == 0 {
			o.Status, o.NextCheckAt = StatusPending, base
		}
		orders = append(orders, o)
	}
	if err := s.Import(orders); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get("imp-00042")
	if err != nil || got.Status != StatusCaptured || got.Schema != SchemaVersion {
		t.Fatalf("get: %+v %v", got, err)
	}
	page, next, err := s.List("", 10, ListFilter{})
	if err != nil || len(page) != 10 || page[0].Reference != "imp-00299" || next == "" {
		t.Fatalf("newest first: %d orders, first %v, next %q, %v", len(page), page[0].Reference, next, err)
	}
	pending, _, err := s.List("", 100, ListFilter{Status: []Status{StatusPending}})
	if err != nil || len(pending) != 3 {
		t.Fatalf("pending filter: %d %v", len(pending), err)
	}
	due, err := s.DueChecks(base.Add(time.Second), 100)
	if err != nil || len(due) != 3 {
		t.Fatalf("due: %v %v", due, err)
	}
	if err := s.Import([]*Order{{}}); err == nil {
		t.Fatal("an order without reference was imported")
	}
}
