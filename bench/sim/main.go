// Command sim measures the Vipps simulator (cmd/vipps-sim) on its own, as a
// load test or a week-long demo uses it. It builds the simulator, runs it as
// a child process on a free loopback port, and in one run:
//
//  1. measures the create rate of -c concurrent clients for -d on an empty
//     simulator, fills it to -n waiting payments (nobody approves), and
//     measures again, in five slices that alternate with slices on a second
//     simulator emptied (/_sim/reset) before each, so that both figures see
//     the same machine: the ratio of the two is the figure to watch (the
//     goal is at least 0.9);
//  2. on a fresh simulator, creates and approves -n payments and reports
//     the simulator's resident memory per 100,000 finished payments; with
//     -retention it then moves the simulator's clock past the retention
//     period and reports the memory again once they are forgotten.
//
// It prints a markdown table headed by the command that made it.
//
//	go run ./bench/sim                          # 100,000 payments, 64 clients, 5 s
//	go run ./bench/sim -retention 1h            # and forget them again
//	go run ./bench/sim -persist                 # the simulator keeps a data directory
//	go run ./bench/sim -quick                   # seconds; fails if any request fails (CI)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddy-vipps/caddy-vipps/bench/internal/proc"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

func main() {
	n := flag.Int("n", 100_000, "waiting payments to fill the simulator with, and payments to finish")
	c := flag.Int("c", 64, "concurrent clients")
	d := flag.Duration("d", 5*time.Second, "duration of each rate measurement")
	quick := flag.Bool("quick", false, "2,000 payments and 1 s measurements; fails if any request fails (CI)")
	retention := flag.Duration("retention", 0, "run the simulator with this -retention and report memory after the finished payments are forgotten")
	persist := flag.Bool("persist", false, "run the simulator with a -data-dir in a temporary directory")
	flag.Parse()
	if *quick {
		*n, *d = 2000, time.Second
	}
	b := &bench{n: *n, c: *c, d: *d, retention: *retention, persist: *persist}
	if err := b.run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if *quick && b.failed.Load() > 0 {
		fmt.Fprintf(os.Stderr, "bench: %d requests failed\n", b.failed.Load())
		os.Exit(1)
	}
}

type bench struct {
	n, c      int
	d         time.Duration
	retention time.Duration
	persist   bool

	work   string
	bin    string
	rows   [][2]string
	failed atomic.Int64
	seq    atomic.Int64
}

// simulator is one running child process.
type simulator struct {
	cmd     *exec.Cmd
	url     string
	dataDir string
	client  *vipps.Client
	http    *http.Client
}

func (b *bench) row(what, figure string) { b.rows = append(b.rows, [2]string{what, figure}) }

func (b *bench) run() error {
	work, err := os.MkdirTemp("", "vipps-sim-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	b.work, b.bin = work, filepath.Join(work, "vipps-sim")
	if out, err := exec.Command("go", "build", "-o", b.bin, "./cmd/vipps-sim").CombinedOutput(); err != nil {
		return fmt.Errorf("building the simulator: %v\n%s", err, out)
	}

	// 1. The create rate, empty and with n payments waiting.
	s, err := b.start("rate")
	if err != nil {
		return err
	}
	empty := b.measure(s, b.create).rate()
	b.row(fmt.Sprintf("creates/s, empty simulator (%d clients, %s)", b.c, b.d), fmt.Sprintf("%.0f", empty))
	if left := b.n - int(b.seq.Load()); left > 0 {
		start := time.Now()
		filled := b.fill(s, left, b.create).rate()
		b.row(fmt.Sprintf("filling to %s waiting payments", thousands(int(b.seq.Load()))), fmt.Sprintf("%s (%.0f creates/s)", time.Since(start).Round(100*time.Millisecond), filled))
	}
	waiting := int(b.seq.Load())
	other, err := b.start("empty")
	if err != nil {
		proc.Stop(s.cmd)
		return err
	}
	var full, again count
	const slices = 5
	for range slices {
		if err := other.post(context.Background(), "/_sim/reset", "", http.StatusNoContent); err != nil {
			return err
		}
		again.add(b.measureFor(other, b.create, b.d/slices))
		full.add(b.measureFor(s, b.create, b.d/slices))
	}
	proc.Stop(other.cmd)
	b.row(fmt.Sprintf("creates/s with %s payments waiting (%d slices of %s)", thousands(waiting), slices, b.d/slices), fmt.Sprintf("%.0f", full.rate()))
	b.row("creates/s on a second simulator, emptied before each slice between them", fmt.Sprintf("%.0f", again.rate()))
	b.row("ratio, full ÷ empty, side by side (goal ≥ 0.9)", fmt.Sprintf("**%.2f**", full.rate()/again.rate()))
	b.row("ratio, full ÷ the first empty measurement", fmt.Sprintf("%.2f", full.rate()/empty))
	if s.dataDir != "" {
		b.row(fmt.Sprintf("data directory with %s payments", thousands(int(b.seq.Load()))), mb(float64(proc.DirSize(s.dataDir))/1024))
	}
	proc.Stop(s.cmd)

	// 2. Memory per finished payment, and after they are forgotten.
	b.seq.Store(0)
	s, err = b.start("finish")
	if err != nil {
		return err
	}
	defer proc.Stop(s.cmd)
	time.Sleep(time.Second)
	pid := s.cmd.Process.Pid
	fresh := proc.KB(pid, "VmRSS")
	b.row("simulator RSS, fresh", mb(fresh))
	start := time.Now()
	pairs := b.fill(s, b.n, b.createApprove).rate()
	b.row(fmt.Sprintf("%s × create + approve", thousands(b.n)), fmt.Sprintf("%s (%.0f payments/s)", time.Since(start).Round(100*time.Millisecond), pairs))
	finished := proc.KB(pid, "VmRSS")
	b.row(fmt.Sprintf("simulator RSS with %s finished payments", thousands(b.n)), mb(finished))
	perLabel := "RSS per 100,000 finished payments"
	if b.n < 100_000 {
		perLabel += fmt.Sprintf(" (extrapolated from %s; fixed costs dominate)", thousands(b.n))
	}
	b.row(perLabel, mb((finished-fresh)/float64(b.n)*100_000))
	if st, ok := stats(s); ok {
		b.row("Go heap live at the last collection, with them", mb(st.HeapLiveBytes/1024))
	}
	if s.dataDir != "" {
		b.row(fmt.Sprintf("data directory with %s finished payments", thousands(b.n)), mb(float64(proc.DirSize(s.dataDir))/1024))
	}
	if b.retention > 0 {
		if err := b.forget(s); err != nil {
			return err
		}
		b.row(fmt.Sprintf("simulator RSS after the retention (%s) passed and %s more create + approve", b.retention, b.d), mb(proc.KB(pid, "VmRSS")))
		if st, ok := stats(s); ok {
			b.row("payments held then; Go heap live", fmt.Sprintf("%d; %s", st.Payments, mb(st.HeapLiveBytes/1024)))
		}
	}
	b.row("failed requests", fmt.Sprint(b.failed.Load()))
	b.print()
	return nil
}

func (b *bench) print() {
	fmt.Printf("Command: `%s`\n\n", strings.TrimSpace("go run ./bench/sim "+strings.Join(os.Args[1:], " ")))
	fmt.Println("| measurement | figure |")
	fmt.Println("|---|---|")
	for _, r := range b.rows {
		fmt.Printf("| %s | %s |\n", r[0], r[1])
	}
}

// start runs the simulator on a free loopback port.
func (b *bench) start(name string) (*simulator, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	args := []string{"-listen", addr, "-payment-timeout", "1h"}
	if b.retention > 0 {
		args = append(args, "-retention", b.retention.String())
	}
	s := &simulator{url: "http://" + addr}
	if b.persist {
		s.dataDir = filepath.Join(b.work, name+"-data")
		args = append(args, "-data-dir", s.dataDir)
	}
	s.cmd = exec.Command(b.bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = io.Discard, io.Discard
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	if _, err := proc.WaitUp(s.url+"/_sim/clock", 20*time.Second); err != nil {
		proc.Stop(s.cmd)
		return nil, fmt.Errorf("the simulator did not start: %w", err)
	}
	transport := &http.Transport{MaxIdleConnsPerHost: 2 * b.c}
	s.http = &http.Client{Timeout: 30 * time.Second, Transport: transport}
	s.client, err = vipps.New(vipps.Config{
		BaseURL: s.url, ClientID: "bench", ClientSecret: "bench", SubscriptionKey: "bench-key",
		MerchantSerialNumber: "123456", HTTPClient: s.http, MaxRetries: -1,
	})
	if err != nil {
		proc.Stop(s.cmd)
		return nil, err
	}
	return s, nil
}

// create makes one WEB_REDIRECT payment and returns its reference.
func (b *bench) create(ctx context.Context, s *simulator) (string, error) {
	ref := fmt.Sprintf("bench-%010d", b.seq.Add(1))
	_, err := s.client.CreatePayment(ctx, ref, vipps.CreatePaymentRequest{
		Amount: vipps.Amount{Currency: "NOK", Value: 49900}, PaymentMethod: vipps.PaymentMethod{Type: vipps.PaymentMethodWallet},
		Reference: ref, UserFlow: vipps.UserFlowWebRedirect, ReturnURL: "https://shop.example/return?ref=" + ref,
		PaymentDescription: "One pair of socks",
	})
	return ref, err
}

// createApprove makes a payment and approves it as the buyer would.
func (b *bench) createApprove(ctx context.Context, s *simulator) (string, error) {
	ref, err := b.create(ctx, s)
	if err != nil {
		return ref, err
	}
	return ref, s.post(ctx, "/_sim/payments/"+ref+"/approve", "", http.StatusOK)
}

func (s *simulator) post(ctx context.Context, path, body string, want int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s: status %d", path, resp.StatusCode)
	}
	return nil
}

type op func(ctx context.Context, s *simulator) (string, error)

// count is how many operations succeeded in how long.
type count struct {
	ok      int64
	elapsed time.Duration
}

func (c *count) add(o count) { c.ok, c.elapsed = c.ok+o.ok, c.elapsed+o.elapsed }

func (c count) rate() float64 { return float64(c.ok) / c.elapsed.Seconds() }

// measure runs op from b.c clients for b.d.
func (b *bench) measure(s *simulator, f op) count { return b.measureFor(s, f, b.d) }

func (b *bench) measureFor(s *simulator, f op, d time.Duration) count {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return b.load(s, f, func() bool { return ctx.Err() == nil })
}

// fill runs op count times from b.c clients.
func (b *bench) fill(s *simulator, n int, f op) count {
	var left atomic.Int64
	left.Store(int64(n))
	return b.load(s, f, func() bool { return left.Add(-1) >= 0 })
}

func (b *bench) load(s *simulator, f op, more func() bool) count {
	var ok atomic.Int64
	var first sync.Once
	start := time.Now()
	var wg sync.WaitGroup
	for range b.c {
		wg.Go(func() {
			for more() {
				if _, err := f(context.Background(), s); err != nil {
					b.failed.Add(1)
					first.Do(func() { fmt.Fprintln(os.Stderr, "first failure:", err) })
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	return count{ok: ok.Load(), elapsed: time.Since(start)}
}

// forget moves the simulator's clock past the retention period, waits until
// the finished payments are forgotten, and loads it for b.d more so that the
// Go runtime collects and returns the memory.
func (b *bench) forget(s *simulator) error {
	body := fmt.Sprintf(`{"duration":%q}`, (b.retention + time.Second).String())
	if err := s.post(context.Background(), "/_sim/clock/advance", body, http.StatusOK); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		st, ok := stats(s)
		if !ok {
			return fmt.Errorf("the simulator has no /_sim/stats to tell when payments are forgotten")
		}
		if st.Payments == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d payments were still held a minute after the retention passed", st.Payments)
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.measure(s, b.createApprove)
	time.Sleep(2 * time.Second)
	return nil
}

// simStats is the part of GET /_sim/stats the harness reads.
type simStats struct {
	Payments      int     `json:"payments"`
	HeapLiveBytes float64 `json:"heap_live_bytes"`
}

func stats(s *simulator) (simStats, bool) {
	var st simStats
	resp, err := s.http.Get(s.url + "/_sim/stats")
	if err != nil {
		return st, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil {
		return st, false
	}
	return st, true
}

func mb(kb float64) string { return fmt.Sprintf("%.1f MB", kb/1024) }

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
