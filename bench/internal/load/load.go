// Package load drives a fixed number of concurrent clients for a fixed
// time and records what they saw, for the benchmark harnesses.
package load

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddy-vipps/caddy-vipps/bench/internal/proc"
)

// Result is one measurement.
type Result struct {
	OK, Failed int64
	Latencies  []time.Duration // sorted
	Elapsed    time.Duration
	// CPU is the CPU seconds the watched processes spent during the run.
	CPU float64
	// PeakKB is the largest VmHWM among the watched processes after it.
	PeakKB float64
}

// Rate is successful operations per second.
func (r Result) Rate() float64 { return float64(r.OK) / r.Elapsed.Seconds() }

// Pct is the p-quantile latency (p in 0..1).
func (r Result) Pct(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	return r.Latencies[int(p*float64(len(r.Latencies)-1))]
}

// CPUPerOp is the watched processes' CPU milliseconds per successful
// operation.
func (r Result) CPUPerOp() float64 {
	if r.OK == 0 {
		return 0
	}
	return r.CPU / float64(r.OK) * 1000
}

// Ms writes a duration in milliseconds with two decimals.
func Ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// Measure runs op from c goroutines for d, recording latencies and the CPU
// and memory of the processes pids.
func Measure(pids []int, c int, d time.Duration, op func(ctx context.Context) error) Result {
	var ok, failed atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	cpu := func() float64 {
		total := 0.0
		for _, pid := range pids {
			total += proc.CPUSeconds(pid)
		}
		return total
	}
	cpu0 := cpu()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for ctx.Err() == nil {
				t := time.Now()
				if err := op(context.Background()); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				mine = append(mine, time.Since(t))
				ok.Add(1)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		fmt.Fprintln(os.Stderr, "first failure:", err)
	}
	slices.Sort(lat)
	peak := 0.0
	for _, pid := range pids {
		peak = max(peak, proc.KB(pid, "VmHWM"))
	}
	return Result{OK: ok.Load(), Failed: failed.Load(), Latencies: lat, Elapsed: time.Since(start), CPU: cpu() - cpu0, PeakKB: peak}
}

// Add combines two measurements of the same thing (rounds of one run):
// counts, time and CPU add up, latencies merge, the peak is the larger.
func Add(a, b Result) Result {
	lat := append(slices.Clone(a.Latencies), b.Latencies...)
	slices.Sort(lat)
	return Result{OK: a.OK + b.OK, Failed: a.Failed + b.Failed, Latencies: lat, Elapsed: a.Elapsed + b.Elapsed,
		CPU: a.CPU + b.CPU, PeakKB: max(a.PeakKB, b.PeakKB)}
}
