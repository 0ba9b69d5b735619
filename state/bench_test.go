package state

import (
	"fmt"
	"testing"
)

// BenchmarkTransition is one synced transition: read, apply an observation,
// validate, write order and indexes, commit.
func BenchmarkTransition(b *testing.B) {
	s := openTest(b, nil)
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		ref := fmt.Sprintf("bench-%08d", n)
		n++
		if err := s.Create(newOrder(ref, 1000)); err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.Update(ref, SourceWebhook, func(o *Order, tx *Tx) error {
			_, err := o.ApplyPayment(Observation{State: "AUTHORIZED", Authorized: 1000})
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDuplicateObservation is the common no-op: a webhook or poll that
// tells nothing new. It reads and writes nothing.
func BenchmarkDuplicateObservation(b *testing.B) {
	s := openTest(b, nil)
	mustCreate(b, s, newOrder(ref(1), 1000))
	apply := func(o *Order, tx *Tx) error {
		_, err := o.ApplyPayment(Observation{State: "AUTHORIZED", Authorized: 1000})
		return err
	}
	if _, _, err := s.Update(ref(1), SourceWebhook, apply); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, changed, err := s.Update(ref(1), SourceWebhook, apply); err != nil || changed {
			b.Fatal(err, changed)
		}
	}
}

// BenchmarkCapturedOrder is an order's whole life in the store: made,
// authorized, captured; three synced commits, two of them moving the
// ledger (the order made, the money captured).
func BenchmarkCapturedOrder(b *testing.B) {
	s := openTest(b, nil)
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		ref := fmt.Sprintf("bench-%08d", n)
		n++
		if err := s.Create(newOrder(ref, 1000)); err != nil {
			b.Fatal(err)
		}
		for _, obs := range []Observation{{State: "AUTHORIZED", Authorized: 1000}, {State: "AUTHORIZED", Authorized: 1000, Captured: 1000}} {
			if _, _, err := s.Update(ref, SourceWebhook, func(o *Order, tx *Tx) error {
				_, err := o.ApplyPayment(obs)
				return err
			}); err != nil {
				b.Fatal(err)
			}
		}
	}
}
