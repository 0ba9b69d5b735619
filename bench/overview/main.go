// Command overview measures the merchant's overview (shop.Overview) on a
// grown store against the read the merchant already pays for on every
// view of the admin page, the order list's first page, in the same run and
// on the same store; and, once, what the overview would cost without the
// ledger and its indexes: a scan of every order.
//
// For each size it fills a Badger store through state.Import with orders
// spread over the last year (finished ones, a few to ship and a few
// waiting), compacts it, and times each read (median of -reads).
//
//	go run ./bench/overview -orders 100000,1000000
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/caddy-vipps/caddy-vipps/shop"
	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// One order in every toShipEvery is still reserved, one in waitingEvery
// still waits for the buyer, one in refundEvery was refunded in part.
const (
	toShipEvery  = 1000
	waitingEvery = 1000
	refundEvery  = 50
	history      = 365 * 24 * time.Hour
)

func main() {
	sizes := flag.String("orders", "100000,1000000", "store sizes to measure, comma-separated")
	reads := flag.Int("reads", 50, "timed reads of each kind (the median is reported)")
	flag.Parse()
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "-orders: %q is not a number of orders\n", f)
			os.Exit(2)
		}
		if err := measure(n, *reads); err != nil {
			fmt.Fprintln(os.Stderr, "overview bench:", err)
			os.Exit(1)
		}
	}
}

// order is order i of n, made i steps back from now.
func order(i, n int, now time.Time) *state.Order {
	created := now.Add(-time.Duration(float64(history) * float64(i) / float64(n))).Add(-time.Minute)
	ref := fmt.Sprintf("grow-%012d", i)
	o := &state.Order{
		Schema: state.SchemaVersion, Reference: ref, Currency: "NOK", Amount: 47700, Description: "2 × Wool socks, 1 × Coffee mug",
		Items:     []state.Item{{SKU: "socks", Name: "Wool socks", Qty: 2, UnitPrice: 14900, VATRate: 2500}, {SKU: "mug", Name: "Coffee mug", Qty: 1, UnitPrice: 19900, VATRate: 2500}},
		CreateKey: "create-" + ref, CreatedAt: created, UpdatedAt: created.Add(40 * time.Second),
		History: []state.HistoryEntry{
			{At: created, Source: state.SourceCheckout, To: state.StatusPending, Note: "order created"},
		},
	}
	switch {
	case i%waitingEvery == 1:
		o.Status = state.StatusPending
		o.Payment = state.Payment{State: "CREATED"}
		return o
	}
	authorized := created.Add(40 * time.Second)
	o.Payment = state.Payment{State: "AUTHORIZED", Authorized: 47700, AuthorizedAt: authorized, CaptureDeadline: shop.CaptureDeadline("NOK", authorized)}
	o.History = append(o.History, state.HistoryEntry{At: authorized, Source: state.SourceWebhook, From: state.StatusPending, To: state.StatusAuthorized})
	o.Status = state.StatusAuthorized
	if i%toShipEvery == 0 {
		o.NextCheckAt = now.Add(time.Hour)
		return o
	}
	shipped := created.Add(time.Hour)
	o.Payment.Captured = 47700
	o.Status = state.StatusCaptured
	o.UpdatedAt = shipped
	o.History = append(o.History, state.HistoryEntry{At: shipped, Source: state.SourceMerchant, From: state.StatusAuthorized, To: state.StatusCaptured})
	o.Ops = []state.Operation{{ID: "op-" + ref, Kind: "capture", Amount: 47700, IdempotencyKey: "capture-" + ref, Status: "done", CreatedAt: shipped, DoneAt: shipped, Actor: "merchant"}}
	if i%refundEvery == 0 {
		o.Payment.Refunded = 14900
		o.Status = state.StatusPartiallyRefunded
		o.History = append(o.History, state.HistoryEntry{At: shipped.Add(time.Hour), Source: state.SourceMerchant, From: state.StatusCaptured, To: state.StatusPartiallyRefunded})
		o.UpdatedAt = shipped.Add(time.Hour)
	}
	return o
}

func measure(n, reads int) error {
	dir, err := os.MkdirTemp("", "vipps-overview-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s, err := state.OpenBadger(dir, state.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	now := time.Now().UTC()
	start := time.Now()
	const chunk = 20000
	batch := make([]*state.Order, 0, chunk)
	for i := range n {
		batch = append(batch, order(i, n, now))
		if len(batch) == chunk || i == n-1 {
			if err := s.Import(batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := s.DB().Flatten(2); err != nil {
		return err
	}
	filled := time.Since(start)

	catalog, err := shop.NewCatalog("NOK", []shop.Product{{SKU: "socks", Name: "Wool socks", Price: 14900}})
	if err != nil {
		return err
	}
	// The overview asks Vipps nothing: the client points nowhere.
	client, err := vipps.New(vipps.Config{BaseURL: "http://127.0.0.1:1", ClientID: "bench", ClientSecret: "bench", SubscriptionKey: "bench", MerchantSerialNumber: "123456"})
	if err != nil {
		return err
	}
	svc, err := shop.New(shop.Config{PublicURL: "https://shop.example", MerchantSerialNumber: "123456"}, catalog, s, client, nil, nil)
	if err != nil {
		return err
	}

	list := func() error {
		page, _, err := s.List("", 50, state.ListFilter{})
		if err == nil && len(page) != 50 {
			err = fmt.Errorf("the first page holds %d orders", len(page))
		}
		return err
	}
	var last *shop.Overview
	overview := func() error {
		var err error
		last, err = svc.Overview(time.Now())
		return err
	}
	// Warm both (Badger's block cache), then take turns.
	for range 3 {
		if err := list(); err != nil {
			return err
		}
		if err := overview(); err != nil {
			return err
		}
	}
	var tList, tOverview []time.Duration
	for range reads {
		t := time.Now()
		if err := list(); err != nil {
			return err
		}
		tList = append(tList, time.Since(t))
		t = time.Now()
		if err := overview(); err != nil {
			return err
		}
		tOverview = append(tOverview, time.Since(t))
	}
	t := time.Now()
	scanned, err := scanSales(s, now)
	if err != nil {
		return err
	}
	tScan := time.Since(t)

	// The figures agree with the scan.
	var net int64
	for _, d := range last.Sales.Days {
		net += d.Net
	}
	wantShip, wantWait := (n+toShipEvery-1)/toShipEvery, (n+waitingEvery-2)/waitingEvery
	if last.ToShip.Count != wantShip || last.NeedsAttention.WaitingOnVipps.Count != wantWait {
		return fmt.Errorf("to ship %d (want %d), waiting %d (want %d)", last.ToShip.Count, wantShip, last.NeedsAttention.WaitingOnVipps.Count, wantWait)
	}
	if net != scanned {
		return fmt.Errorf("the overview's 30 days net %d, a scan of every order %d", net, scanned)
	}
	mList, mOverview := median(tList), median(tOverview)
	fmt.Printf("%d orders (filled through state.Import and compacted in %s): %d to ship, %d waiting, 30 days net %d (a scan of every order: %d)\n",
		n, filled.Round(time.Second), last.ToShip.Count, last.NeedsAttention.WaitingOnVipps.Count, net, scanned)
	fmt.Printf("| %d | %s | %s | **%.2f** | %s |\n", n, round(mList), round(mOverview), float64(mOverview)/float64(mList), round(tScan))
	return nil
}

// scanSales is the overview's sales without the ledger: every order read
// and decoded, and what it moved on the overview's 30 days in Oslo summed
// by the rule the ledger was filled by (state.LedgerOf).
func scanSales(s *state.BadgerStore, now time.Time) (int64, error) {
	oslo, err := time.LoadLocation("Europe/Oslo")
	if err != nil {
		return 0, err
	}
	local := now.In(oslo)
	since := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, oslo).AddDate(0, 0, -(shop.OverviewDays - 1))
	var net int64
	err = s.DB().View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte("o/")
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var o state.Order
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &o) }); err != nil {
				return err
			}
			for _, r := range state.LedgerOf(&o) {
				if !r.Hour.Before(since) {
					net += r.Captured - r.Refunded
				}
			}
		}
		return nil
	})
	return net, err
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func round(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}
