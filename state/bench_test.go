package state

import (
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
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

// BenchmarkCheckoutWrites is what a checkout asks of the store, by 16
// buyers at once: the new order stored (Create, one synced commit shared
// with the orders stored at that moment), a pause for the create call at
// Vipps, and Vipps' answer recorded (RecordCreated). It reports the
// process's CPU time per order (user + system, Badger's background work
// included), the figure checkout's CPU is made of.
func BenchmarkCheckoutWrites(b *testing.B) {
	s := openTest(b, nil)
	const buyers = 16
	var next atomic.Int64
	start := cpuTime()
	b.ResetTimer()
	var wg sync.WaitGroup
	for range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				o := newOrder(fmt.Sprintf("bench-%010d", n), 49700)
				o.Status, o.NextCheckAt = StatusPending, time.Now().Add(5*time.Second)
				if err := s.Create(o); err != nil {
					b.Error(err)
					return
				}
				time.Sleep(2 * time.Millisecond) // the create call
				if err := s.RecordCreated(o.Reference, CreateAnswer{RedirectURL: "https://api.vipps.no/dwo-api-application/v1/deeplink/vippsgateway?v=2&token=" + o.Reference, At: time.Now()}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-µs/order")
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
