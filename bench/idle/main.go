// Command idle measures the memory of a process that holds the order store:
// it opens a store in a temporary directory, writes N finished orders,
// settles, and prints the resident set size.
//
//	go run ./bench/idle -orders 1000
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/caddy-vipps/caddy-vipps/state"
)

func main() {
	orders := flag.Int("orders", 1000, "orders to write before measuring")
	flag.Parse()
	dir, err := os.MkdirTemp("", "vipps-idle")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	before := rss()
	s, err := state.OpenBadger(dir, state.Options{})
	if err != nil {
		panic(err)
	}
	opened := rss()
	for i := range *orders {
		o := &state.Order{
			Reference: fmt.Sprintf("idle-%08d", i), Currency: "NOK", Amount: 49700, CreateKey: "k",
			Items: []state.Item{{SKU: "socks", Name: "Wool socks", Qty: 2, UnitPrice: 14900, VATRate: 2500}, {SKU: "mug", Name: "Coffee mug", Qty: 1, UnitPrice: 19900, VATRate: 2500}},
		}
		if err := s.Create(o); err != nil {
			panic(err)
		}
		if _, _, err := s.Update(o.Reference, state.SourceWebhook, func(o *state.Order, tx *state.Tx) error {
			_, err := o.ApplyPayment(state.Observation{State: "AUTHORIZED", Authorized: 49700, Captured: 49700, At: time.Now()})
			return err
		}); err != nil {
			panic(err)
		}
	}
	runtime.GC()
	debug.FreeOSMemory()
	time.Sleep(2 * time.Second)
	fmt.Printf("rss_before_open_kb=%d rss_after_open_kb=%d rss_after_%d_orders_kb=%d\n", before, opened, *orders, rss())
	_ = s.Close()
}

// rss reads VmRSS from /proc/self/status, in kB.
func rss() int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			var kb int
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb
		}
	}
	return -1
}
