// Command run is the benchmark harness. It starts the Vipps simulator as
// its own process and Caddy with the plugin (bench/caddy, which it builds:
// the plugin, Caddy's standard modules and the durable-proxy baseline; or
// the binary -caddy names) on a Caddyfile of its own, loads it with a
// fixed number of concurrent buyers for a fixed time, and prints, side by
// side in one run:
//
//   - direct: create-payment calls sent straight to the simulator with the
//     plugin's own client;
//   - proxy: the same create call sent through Caddy's own reverse_proxy
//     (in the same Caddy build, to the same simulator): the HTTP hop a checkout
//     must make, without the plugin — the baseline the plugin is held to;
//   - durable: the same proxied create after one synced Badger write of a
//     stored order's size (bench/internal/durable, in the same Caddy): the
//     least a checkout that keeps its order on disk before Vipps hears of
//     it must do — the physical baseline (left out when the Caddy binary
//     given with -caddy lacks the module);
//   - checkout: the buy button's form post to /vipps/checkout;
//   - order: a whole order — checkout, approval at the simulator, the
//     buyer's return, and the merchant's ship (capture); the receipt is
//     posted by the plugin's outbox meanwhile and counted at the end;
//
// with throughput, p50/p95/p99 latency, the Caddy process's CPU seconds,
// and its resident memory idle and at peak. Each measurement runs on a
// Caddy of its own (see pass), so that none is charged with what an
// earlier one left for the poller or the outbox. With -growth N it first loads N
// finished orders into the order store (and 1,000 pending ones) and also
// reports start-up time, the poller's work per tick, the merchant list's
// first and a deep page, and bytes on disk per order.
//
//	go run ./bench/run                                      # the full run
//	go run ./bench/run -growth 1000000                      # with a million orders
//	go run ./bench/run -quick                               # seconds; CI runs it
//	go run ./bench/run -before /tmp/caddy-old -c 16,64      # an earlier build against this one
//
// With -before, the earlier binary and this one are measured in turn, twice
// each (before, after, before, after), on the same simulator, and a last
// table gives after ÷ before for every path.
//
// Ports: admin 2990, shop 8090, simulator 9290.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/caddy-vipps/caddy-vipps/bench/internal/load"
	"github.com/caddy-vipps/caddy-vipps/bench/internal/proc"
	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

const (
	shopURL    = "http://localhost:8090"
	simAddr    = "127.0.0.1:9290"
	simURL     = "http://" + simAddr
	adminToken = "bench-admin-token-123"
	adminAddr  = "localhost:2990"
)

func main() {
	caddyBin := flag.String("caddy", "", "a Caddy binary with the plugin (default: bench/caddy, built into the work directory)")
	conc := flag.String("c", "1,16,64", "concurrent buyers, comma separated")
	dur := flag.Duration("d", 8*time.Second, "duration of each measurement")
	quick := flag.Bool("quick", false, "a few seconds in all (CI): 1 and 4 buyers for 1s; fails if any request fails")
	growth := flag.Int("growth", 0, "finished orders to preload into the store before starting Caddy")
	before := flag.String("before", "", "an earlier Caddy binary with the plugin, measured in turn with -caddy (two rounds each) for after ÷ before figures")
	flag.IntVar(&rounds, "rounds", 1, "measure the paths in turn this many times per level; each row sums its rounds")
	flag.StringVar(&profileDir, "profile", "", "a directory for Caddy's CPU profile of each measurement (<path>-<buyers>.pprof, from the admin endpoint); profiling costs CPU, so figures from a profiled run are not comparable")
	flag.Parse()
	if *quick {
		*conc, *dur = "1,4", time.Second
	}
	if *before != "" {
		if *caddyBin == "" {
			fmt.Fprintln(os.Stderr, "bench: -before needs -caddy")
			os.Exit(2)
		}
		if err := compare(*before, *caddyBin, *conc, *dur); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*caddyBin, *conc, *dur, *growth, *quick); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// bench is what every pass shares: the levels, a work directory, the
// simulator process and the buyers.
type bench struct {
	levels []int
	work   string
	b      *buyers
	stop   func()
}

func start(conc string, binaries ...string) (*bench, error) {
	var levels []int
	for _, f := range strings.Split(conc, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c < 1 {
			return nil, fmt.Errorf("bad concurrency %q", f)
		}
		levels = append(levels, c)
	}
	for _, bin := range binaries {
		if _, err := os.Stat(bin); bin != "" && err != nil {
			return nil, fmt.Errorf("%s: %w (build it with ./xcaddy.sh build)", bin, err)
		}
	}
	work, err := os.MkdirTemp("", "vipps-bench")
	if err != nil {
		return nil, err
	}
	for i, bin := range binaries {
		if bin != "" {
			continue
		}
		binaries[i] = filepath.Join(work, "caddy")
		if out, err := exec.Command("go", "build", "-o", binaries[i], "./bench/caddy").CombinedOutput(); err != nil {
			os.RemoveAll(work)
			return nil, fmt.Errorf("building bench/caddy: %v\n%s", err, out)
		}
	}
	simBin := filepath.Join(work, "vipps-sim")
	if out, err := exec.Command("go", "build", "-o", simBin, "./cmd/vipps-sim").CombinedOutput(); err != nil {
		os.RemoveAll(work)
		return nil, fmt.Errorf("building the simulator: %v\n%s", err, out)
	}
	sim := exec.Command(simBin, "-listen", simAddr)
	sim.Stdout, sim.Stderr = io.Discard, io.Discard
	if err := sim.Start(); err != nil {
		os.RemoveAll(work)
		return nil, err
	}
	stop := func() {
		proc.Stop(sim)
		os.RemoveAll(work)
	}
	if _, err := proc.WaitUp(simURL+"/_sim/clock", 20*time.Second); err != nil {
		stop()
		return nil, fmt.Errorf("the simulator did not start: %w", err)
	}
	return &bench{levels: levels, work: work, b: newBuyers(), stop: stop}, nil
}

func run(caddyBin, conc string, dur time.Duration, growth int, strict bool) error {
	bins := []string{caddyBin}
	e, err := start(conc, bins...)
	if err != nil {
		return err
	}
	caddyBin = bins[0]
	defer e.stop()
	levels, work := e.levels, e.work

	b := e.b
	var empty map[int]float64
	if growth > 0 {
		// The empty-store figure first, in the same run, for the ratio.
		fmt.Println("### Empty store")
		fmt.Println()
		var err error
		if empty, _, _, err = pass(caddyBin, work, filepath.Join(work, "empty"), levels, dur, b, 0, true); err != nil {
			return err
		}
		fmt.Printf("\n### %d orders stored\n\n", growth)
		if err := preload(filepath.Join(work, "data"), growth); err != nil {
			return err
		}
	}
	grown, _, failures, err := pass(caddyBin, work, filepath.Join(work, "data"), levels, dur, b, growth, growth > 0)
	if err != nil {
		return err
	}
	if growth > 0 {
		fmt.Println()
		for _, c := range levels {
			fmt.Printf("checkout at %d buyers with %d orders stored ÷ empty store: **%.2f** (%.1f ÷ %.1f req/s)\n", c, growth, grown[c]/empty[c], grown[c], empty[c])
		}
	}
	if strict && failures > 0 {
		return fmt.Errorf("%d requests failed or receipts were missing; see the Caddy log", failures)
	}
	return nil
}

// figures are one pass's results: per level, per path.
type figures map[int]map[string]result

// paths are the measured paths, in the order they run and print.
var paths = []string{"direct", "proxy", "durable", "checkout", "order"}

// pass measures every concurrency level on a data directory and returns
// the checkout rate per level, every result and the failures.
//
// Every measurement runs on a Caddy of its own, started on an empty data
// directory against an emptied simulator, and stopped after it (a whole
// order's measurement first waits for its receipts): what a path leaves
// behind — the poller checking the payments a checkout measurement left
// waiting, the outbox posting receipts — would otherwise run during the
// measurements after it and be counted against them, the baselines
// included. With shared (-growth: both the empty and the preloaded
// store) one Caddy serves every measurement of the pass, as the growth
// figures have always been measured (a Caddy of its own per measurement would
// have to copy a million orders each time, or find the orders of the
// measurements before it waiting for a simulator that forgot them).
func pass(caddyBin, work, dataDir string, levels []int, dur time.Duration, b *buyers, stored int, shared bool) (map[int]float64, figures, int64, error) {
	cfg := filepath.Join(work, "Caddyfile")
	durableDir := ""
	if hasDurable(caddyBin) {
		durableDir = dataDir + "-durable"
	}
	if err := os.WriteFile(cfg, []byte(caddyfile(dataDir, work, durableDir)), 0o600); err != nil {
		return nil, nil, 0, err
	}
	c, err := startCaddy(caddyBin, cfg, work)
	if err != nil {
		return nil, nil, 0, err
	}
	defer func() { c.stop() }()
	fmt.Printf("Caddy with the plugin: start-up to serving %s, idle RSS %.1f MB (%d orders stored)\n\n", c.startup.Round(time.Millisecond), c.idleKB/1024, stored)
	fmt.Println("| buyers | path | req/s | failed | p50 | p95 | p99 | Caddy CPU s | Caddy CPU ms/op | Caddy peak RSS | ÷ proxy (req/s) | ÷ proxy (CPU/op) | ÷ durable (req/s) | ÷ durable (CPU/op) |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	used := false // whether the running Caddy has served a measurement
	// fresh runs one measurement on a Caddy that has served none.
	fresh := func(name string, conc int, op func(ctx context.Context) error) (result, error) {
		if used && !shared {
			c.stop()
			if _, err := b.do(context.Background(), http.MethodPost, simURL+"/_sim/reset", "", "", http.StatusNoContent); err != nil {
				return result{}, err
			}
			for _, dir := range []string{dataDir, durableDir} {
				if dir != "" {
					if err := os.RemoveAll(dir); err != nil {
						return result{}, err
					}
				}
			}
			next, err := startCaddy(caddyBin, cfg, work)
			if err != nil {
				return result{}, err
			}
			c = next
		}
		used = true
		return profiled(name, conc, dur, func() result { return measure(c.pid, conc, dur, op) }), nil
	}
	rates := map[int]float64{}
	all := figures{}
	failures := int64(0)
	receipts, shipped := 0, 0
	var stepLines []string
	for _, conc := range levels {
		// With -rounds, the paths take turns, round after round, and each
		// row sums its rounds: a slow spell of the machine then falls on
		// every path alike instead of on whichever ran during it.
		sums := map[string]result{}
		for range rounds {
			for _, p := range []struct {
				name string
				op   func(ctx context.Context) error
			}{{"direct", b.direct}, {"proxy", b.proxied}, {"durable", b.durable}, {"checkout", b.checkout}, {"order", b.order}} {
				if p.name == "durable" && durableDir == "" {
					continue
				}
				r, err := fresh(p.name, conc, p.op)
				if err != nil {
					return nil, nil, 0, err
				}
				sums[p.name] = load.Add(sums[p.name], r)
				if p.name == "order" {
					// Before this Caddy stops: its outbox posts the
					// receipts of the orders shipped.
					n, of := b.receipts()
					receipts, shipped = receipts+n, shipped+of
				}
			}
		}
		direct, proxied, durable, checkout, order := sums["direct"], sums["proxy"], sums["durable"], sums["checkout"], sums["order"]
		rates[conc] = checkout.Rate()
		all[conc] = map[string]result{"direct": direct, "proxy": proxied, "checkout": checkout, "order": order}
		rows := []struct {
			name string
			r    result
		}{{"direct", direct}, {"proxy", proxied}, {"durable", durable}, {"checkout", checkout}, {"order", order}}
		if durableDir != "" {
			all[conc]["durable"] = durable
		} else {
			rows = slices.Delete(rows, 2, 3)
		}
		for _, row := range rows {
			failures += row.r.Failed
			fmt.Printf("| %d | %s | %.1f | %d | %s | %s | %s | %.2f | %.2f | %.1f MB | %s | %s | %s | %s |\n", conc, row.name, row.r.Rate(), row.r.Failed,
				ms(row.r.Pct(0.5)), ms(row.r.Pct(0.95)), ms(row.r.Pct(0.99)), row.r.CPU, row.r.CPUPerOp(), row.r.PeakKB/1024,
				ratio(row.r.Rate(), proxied.Rate(), true), ratio(row.r.CPUPerOp(), proxied.CPUPerOp(), row.name != "direct"),
				ratio(row.r.Rate(), durable.Rate(), durableDir != "" && row.name != "direct" && row.name != "proxy"),
				ratio(row.r.CPUPerOp(), durable.CPUPerOp(), durableDir != "" && row.name != "direct" && row.name != "proxy"))
		}
		stepLines = append(stepLines, fmt.Sprintf("- %d buyers: %s", conc, b.stepTimes()))
	}
	fmt.Printf("\nthe steps of a whole order, p50 / p95:\n\n%s\n", strings.Join(stepLines, "\n"))
	fmt.Printf("\nwhole orders shipped: %d; receipts posted by the outbox within 15 s of each measurement: %d\n", shipped, receipts)
	failures += int64(shipped - receipts)
	if stored > 0 {
		if err := listFigures(); err != nil {
			return nil, nil, 0, err
		}
	}
	// The next pass starts from a fresh simulator, as this one did.
	if _, err := b.do(context.Background(), http.MethodPost, simURL+"/_sim/reset", "", "", http.StatusNoContent); err != nil {
		return nil, nil, 0, err
	}
	return rates, all, failures, nil
}

// caddyProc is a running Caddy of the benchmark.
type caddyProc struct {
	cmd     *exec.Cmd
	pid     int
	startup time.Duration
	idleKB  float64
}

// startCaddy starts Caddy on cfg and waits until it serves and has
// settled for a second.
func startCaddy(bin, cfg, work string) (*caddyProc, error) {
	cmd := exec.Command(bin, "run", "--config", cfg, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(work, "xdg"), "XDG_CONFIG_HOME="+filepath.Join(work, "xdg"))
	logFile, _ := os.OpenFile(filepath.Join(work, "caddy.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &caddyProc{cmd: cmd, pid: cmd.Process.Pid}
	up, err := proc.WaitUp(shopURL+"/vipps/shop.json", 60*time.Second)
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("caddy did not start: %w", err)
	}
	c.startup = up.Sub(started)
	settle(c.pid)
	c.idleKB = proc.KB(c.pid, "VmRSS")
	return c, nil
}

// settle waits until a started Caddy is idle (under 2 % of a core over a
// quarter of a second; at least one second, at most ten), so that what
// it does while starting is not counted against the first measurement.
func settle(pid int) {
	time.Sleep(time.Second)
	for deadline := time.Now().Add(9 * time.Second); time.Now().Before(deadline); {
		before := proc.CPUSeconds(pid)
		time.Sleep(250 * time.Millisecond)
		if proc.CPUSeconds(pid)-before < 0.005 {
			return
		}
	}
}

// stop stops Caddy and waits for it to exit.
func (c *caddyProc) stop() { proc.Stop(c.cmd) }

// compare measures an earlier binary and this one in turn, twice each, and
// prints after ÷ before per path from the sums of both rounds.
func compare(beforeBin, afterBin, conc string, dur time.Duration) error {
	e, err := start(conc, beforeBin, afterBin)
	if err != nil {
		return err
	}
	defer e.stop()
	sum := map[string]figures{"before": {}, "after": {}}
	failures := map[string]int64{}
	for round := 1; round <= 2; round++ {
		for _, side := range []struct{ name, bin string }{{"before", beforeBin}, {"after", afterBin}} {
			fmt.Printf("\n### Round %d, %s: %s\n\n", round, side.name, side.bin)
			_, got, failed, err := pass(side.bin, e.work, filepath.Join(e.work, fmt.Sprintf("%s-%d", side.name, round)), e.levels, dur, e.b, 0, false)
			if err != nil {
				return err
			}
			failures[side.name] += failed
			for c, byPath := range got {
				if sum[side.name][c] == nil {
					sum[side.name][c] = map[string]result{}
				}
				for p, r := range byPath {
					sum[side.name][c][p] = load.Add(sum[side.name][c][p], r)
				}
			}
		}
	}
	fmt.Printf("\n### After ÷ before, both rounds together\n\n")
	fmt.Println("| buyers | path | req/s before | req/s after | after ÷ before (req/s) | CPU ms/op before | CPU ms/op after | after ÷ before (CPU/op) | p50 before | p50 after |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, c := range e.levels {
		for _, p := range paths {
			bf, af := sum["before"][c][p], sum["after"][c][p]
			cpu := "–"
			if bf.CPUPerOp() > 0 {
				cpu = fmt.Sprintf("**%.2f**", af.CPUPerOp()/bf.CPUPerOp())
			}
			fmt.Printf("| %d | %s | %.1f | %.1f | **%.2f** | %.2f | %.2f | %s | %s | %s |\n", c, p, bf.Rate(), af.Rate(), af.Rate()/bf.Rate(),
				bf.CPUPerOp(), af.CPUPerOp(), cpu, ms(bf.Pct(0.5)), ms(af.Pct(0.5)))
		}
	}
	fmt.Printf("\nfailed requests or receipts missing 15 s after a pass: before %d, after %d\n", failures["before"], failures["after"])
	if failures["after"] > 0 {
		return fmt.Errorf("%d requests failed or receipts were missing with %s", failures["after"], afterBin)
	}
	return nil
}

func ms(d time.Duration) string { return load.Ms(d) }

// ratio is a ÷ b for a table cell, or "–" where it means nothing.
func ratio(a, b float64, show bool) string {
	if !show || b <= 0 {
		return "–"
	}
	return fmt.Sprintf("**%.2f**", a/b)
}

// hasDurable reports whether a Caddy binary has the durable-proxy
// baseline (bench/caddy has; ./xcaddy.sh's and cmd/caddy's have not).
func hasDurable(bin string) bool {
	out, err := exec.Command(bin, "list-modules").Output()
	return err == nil && strings.Contains(string(out), "http.handlers.bench_durable_write")
}

// orderBytes is the size of a checkout's order as the store keeps it (the
// benchmark's cart: two pairs of socks and a mug, stored pending with its
// create's key and first history entry), for the durable baseline's write.
func orderBytes() int {
	now := time.Now().UTC()
	o := state.Order{
		Schema: state.SchemaVersion, Reference: "bench-" + strings.Repeat("x", 20),
		Items: []state.Item{
			{SKU: "socks", Name: "Wool socks", Qty: 2, UnitPrice: 14900, VATRate: 2500},
			{SKU: "mug", Name: "Coffee mug", Qty: 1, UnitPrice: 19900, VATRate: 2500},
		},
		Currency: "NOK", Amount: 49700, Description: "2 × Wool socks, 1 × Coffee mug", Status: state.StatusPending,
		CreateKey: uuid.NewString(), CreatedAt: now, UpdatedAt: now, NextCheckAt: now.Add(5 * time.Second),
		History: []state.HistoryEntry{{At: now, Source: state.SourceCheckout, To: state.StatusPending, Note: "order created"}},
	}
	data, _ := json.Marshal(o)
	return len(data)
}

// profileDir, when set, receives a CPU profile of Caddy per measurement.
var profileDir string

// rounds is how many times each level measures its paths in turn (-rounds).
var rounds = 1

// profiled runs a measurement while Caddy's admin endpoint records a CPU
// profile of it, written to profileDir as <path>-<buyers>.pprof.
func profiled(path string, c int, dur time.Duration, measure func() result) result {
	if profileDir == "" {
		return measure()
	}
	done := make(chan error, 1)
	go func() {
		done <- fetchProfile(filepath.Join(profileDir, fmt.Sprintf("%s-%d.pprof", path, c)), dur)
	}()
	r := measure()
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, "bench: profile:", err)
	}
	return r
}

func fetchProfile(file string, dur time.Duration) error {
	secs := int(dur.Seconds())
	if secs < 1 {
		secs = 1
	}
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", adminAddr, secs))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", file, resp.StatusCode)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func caddyfile(dataDir, work, durableDir string) string {
	durable := ""
	if durableDir != "" {
		durable = fmt.Sprintf(`
	# The physical baseline: one synced Badger write of an order's size,
	# then the same proxied create.
	handle_path /durable/* {
		route {
			bench_durable_write {
				dir %s
				bytes %d
			}
			reverse_proxy %s
		}
	}`, durableDir, orderBytes(), simAddr)
	}
	return fmt.Sprintf(`{
	admin %s
	http_port 8090
	persist_config off
	skip_install_trust
	grace_period 1s
	storage file_system %s
	log {
		level WARN
	}
	# Vipps's token call carries client_id and client_secret headers,
	# which Caddy drops unless they are expected.
	servers {
		expected_underscore_headers client_id client_secret
	}
}

http://localhost:8090 {
	# The baseline: the simulator behind Caddy's own reverse_proxy.
	handle_path /proxy/* {
		reverse_proxy %s
	}%s
	vipps {
		environment test
		api_url %s
		client_id bench
		client_secret bench-secret
		subscription_key bench-key
		merchant_serial_number 123456
		public_url %s
		reference_prefix bench
		product socks 14900 "Wool socks" vat 25
		product mug 19900 "Coffee mug" vat 25
		admin_token %s
		data_dir %s
	}
	respond "shop" 200
}
`, adminAddr, filepath.Join(work, "caddy-storage"), simAddr, durable, simURL, shopURL, adminToken, dataDir)
}

// --- the buyers ---

type buyers struct {
	client  *http.Client
	vipps   *vipps.Client
	proxy   *vipps.Client // the same client, through Caddy's reverse_proxy
	durably *vipps.Client // the same, after one synced write in Caddy
	mu      sync.Mutex
	placed  []string
	steps   map[string][]time.Duration // order step → times
}

func newBuyers() *buyers {
	transport := &http.Transport{MaxIdleConnsPerHost: 512}
	client := func(base string) *vipps.Client {
		c, err := vipps.New(vipps.Config{
			BaseURL: base, ClientID: "bench", ClientSecret: "bench", SubscriptionKey: "bench-key",
			MerchantSerialNumber: "123456", HTTPClient: &http.Client{Timeout: 30 * time.Second, Transport: transport}, MaxRetries: -1,
		})
		if err != nil {
			panic(err)
		}
		return c
	}
	c := client(simURL)
	return &buyers{
		client: &http.Client{Timeout: 30 * time.Second, Transport: transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		vipps:   c,
		proxy:   client(shopURL + "/proxy"),
		durably: client(shopURL + "/durable"),
	}
}

var cartForm = url.Values{"sku": {"socks", "mug"}, "qty": {"2", "1"}}.Encode()

// direct sends the create call the plugin makes, straight to the simulator.
func (b *buyers) direct(ctx context.Context) error { return b.create(ctx, b.vipps) }

// proxied sends the same call through Caddy's reverse_proxy.
func (b *buyers) proxied(ctx context.Context) error { return b.create(ctx, b.proxy) }

// durable sends it through the durable-proxy baseline.
func (b *buyers) durable(ctx context.Context) error { return b.create(ctx, b.durably) }

func (b *buyers) create(ctx context.Context, c *vipps.Client) error {
	ref := "direct-" + strings.ReplaceAll(uuid.NewString(), "-", "")[:24]
	_, err := c.CreatePayment(ctx, uuid.NewString(), vipps.CreatePaymentRequest{
		Amount: vipps.Amount{Currency: "NOK", Value: 47700}, PaymentMethod: vipps.PaymentMethod{Type: "WALLET"},
		Reference: ref, UserFlow: "WEB_REDIRECT", ReturnURL: shopURL + "/vipps/return?reference=" + ref,
		PaymentDescription: "2 × Wool socks, 1 × Coffee mug",
	})
	return err
}

// checkout posts the buy button's form and returns the order reference.
func (b *buyers) checkoutRef(ctx context.Context) (string, error) {
	resp, err := b.do(ctx, http.MethodPost, shopURL+"/vipps/checkout", cartForm, "application/x-www-form-urlencoded", http.StatusSeeOther)
	if err != nil {
		return "", err
	}
	return resp.Header.Get("X-Vipps-Reference"), nil
}

func (b *buyers) checkout(ctx context.Context) error {
	_, err := b.checkoutRef(ctx)
	return err
}

// orderSteps are the steps of a whole order, timed one by one.
var orderSteps = []string{"checkout", "approve", "return", "ship"}

// order walks a whole order: checkout, approval, return, ship. Each step's
// time is kept, so a slow order shows which step is slow.
func (b *buyers) order(ctx context.Context) error {
	var ref string
	steps := []func() error{
		func() (err error) { ref, err = b.checkoutRef(ctx); return err },
		func() error {
			_, err := b.do(ctx, http.MethodPost, simURL+"/_sim/payments/"+ref+"/approve", "", "", http.StatusOK)
			return err
		},
		func() error {
			resp, err := b.do(ctx, http.MethodGet, shopURL+"/vipps/return?reference="+ref, "", "", http.StatusSeeOther)
			if err == nil && !strings.Contains(resp.Header.Get("Location"), "/confirmation") {
				err = fmt.Errorf("return of %s went to %s", ref, resp.Header.Get("Location"))
			}
			return err
		},
		func() error {
			_, err := b.do(ctx, http.MethodPost, shopURL+"/vipps/orders/"+ref+"/ship", "", "", http.StatusOK, "Authorization", "Bearer "+adminToken)
			return err
		},
	}
	took := make([]time.Duration, len(steps))
	for i, step := range steps {
		t := time.Now()
		if err := step(); err != nil {
			return err
		}
		took[i] = time.Since(t)
	}
	b.mu.Lock()
	b.placed = append(b.placed, ref)
	if b.steps == nil {
		b.steps = map[string][]time.Duration{}
	}
	for i, name := range orderSteps {
		b.steps[name] = append(b.steps[name], took[i])
	}
	b.mu.Unlock()
	return nil
}

// stepTimes returns and forgets the p50 and p95 of each order step since
// the last call.
func (b *buyers) stepTimes() string {
	b.mu.Lock()
	steps := b.steps
	b.steps = nil
	b.mu.Unlock()
	var parts []string
	for _, name := range orderSteps {
		d := slices.Clone(steps[name])
		slices.Sort(d)
		r := result{Latencies: d}
		parts = append(parts, fmt.Sprintf("%s %s / %s", name, ms(r.Pct(0.5)), ms(r.Pct(0.95))))
	}
	return strings.Join(parts, ", ")
}

func (b *buyers) do(ctx context.Context, method, u, body, ctype string, want int, headers ...string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		return resp, fmt.Errorf("%s %s: status %d, want %d", method, u, resp.StatusCode, want)
	}
	return resp, nil
}

// receipts waits up to 15 s for the outbox to post a receipt for every
// order shipped since the last call and returns how many it did.
func (b *buyers) receipts() (int, int) {
	b.mu.Lock()
	placed := slices.Clone(b.placed)
	b.placed = nil
	b.mu.Unlock()
	deadline := time.Now().Add(15 * time.Second)
	for {
		n := b.countReceipts(placed)
		if n >= len(placed) || time.Now().After(deadline) {
			return n, len(placed)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (b *buyers) countReceipts(placed []string) int {
	resp, err := b.client.Get(simURL + "/_sim/receipts")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	n := 0
	for _, ref := range placed {
		if strings.Contains(string(data), `"order_id":"`+ref+`"`) {
			n++
		}
	}
	return n
}

// --- measuring ---

type result = load.Result

// measure runs op from c goroutines for d and records latencies and what
// the Caddy process spent.
func measure(pid, c int, d time.Duration, op func(ctx context.Context) error) result {
	return load.Measure([]int{pid}, c, d, op)
}
