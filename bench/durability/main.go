// Command durability compares the order store's transitions with the
// disk's limit: raw Badger synced writes (SyncWrites on, one 1 KiB value per
// transaction) against the store's transitions (creating an order, as before
// Vipps is called, and one update recording a capture with its key, as
// before the capture is sent; every commit of the store is synced), at the
// same concurrency, side by side in one run.
//
//	go run ./bench/durability -c 1,16,64 -d 5s
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/caddy-vipps/caddy-vipps/state"
)

func main() {
	conc := flag.String("c", "1,16,64", "concurrencies, comma separated")
	dur := flag.Duration("d", 5*time.Second, "time per measurement")
	flag.Parse()
	fmt.Printf("| writers | raw Badger synced writes/s | store synced transitions/s | store/raw |\n|---|---|---|---|\n")
	for _, f := range strings.Split(*conc, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c < 1 {
			fmt.Fprintf(os.Stderr, "bad concurrency %q\n", f)
			os.Exit(2)
		}
		raw := rawBadger(c, *dur)
		store := storeTransitions(c, *dur)
		fmt.Printf("| %d | %.0f | %.0f | **%.2f** |\n", c, raw, store, store/raw)
	}
}

// run calls op from c goroutines for d and returns operations per second.
func run(c int, d time.Duration, op func(worker, i int) int) float64 {
	var n atomic.Int64
	stop := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(stop); i++ {
				n.Add(int64(op(w, i)))
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}

func tempDir(name string) string {
	dir, err := os.MkdirTemp("", name)
	if err != nil {
		panic(err)
	}
	return dir
}

func rawBadger(c int, d time.Duration) float64 {
	dir := tempDir("durability-raw")
	defer os.RemoveAll(dir)
	db, err := badger.Open(badger.DefaultOptions(dir).WithSyncWrites(true).WithLogger(nil))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	value := make([]byte, 1024)
	return run(c, d, func(w, i int) int {
		key := []byte(fmt.Sprintf("k/%03d/%09d", w, i))
		if err := db.Update(func(txn *badger.Txn) error { return txn.Set(key, value) }); err != nil {
			panic(err)
		}
		return 1
	})
}

func storeTransitions(c int, d time.Duration) float64 {
	dir := tempDir("durability-store")
	defer os.RemoveAll(dir)
	s, err := state.OpenBadger(dir, state.Options{})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	return run(c, d, func(w, i int) int {
		ref := fmt.Sprintf("bench-%03d-%09d", w, i)
		o := &state.Order{
			Reference: ref, Currency: "NOK", Amount: 49700, CreateKey: "k-" + ref,
			Items: []state.Item{{SKU: "socks", Name: "Wool socks", Qty: 2, UnitPrice: 14900, VATRate: 2500}, {SKU: "mug", Name: "Coffee mug", Qty: 1, UnitPrice: 19900, VATRate: 2500}},
		}
		if err := s.Create(o); err != nil {
			panic(err)
		}
		if _, _, err := s.Update(ref, state.SourceMerchant, func(o *state.Order, tx *state.Tx) error {
			o.Ops = append(o.Ops, state.Operation{ID: "op-1", Kind: "capture", Amount: 49700, IdempotencyKey: "cap-" + ref, Status: "pending", CreatedAt: time.Now()})
			return nil
		}); err != nil {
			panic(err)
		}
		return 2
	})
}
