// Command instances measures checkout on the order stores side by side, in
// one run: Badger on one Caddy instance, PostgreSQL on one, and PostgreSQL
// on three. Every configuration sits behind the same fourth Caddy doing
// reverse_proxy round robin, so each pays the same proxy hop; the simulator
// runs as its own process, and PostgreSQL is a throwaway cluster (it needs
// Debian's postgresql package).
//
//	./xcaddy.sh build && go run ./bench/instances            # 1, 16, 64 buyers, 8 s each
//	go run ./bench/instances -quick                          # seconds; fails on any failed request
//
// Ports: simulator 9501, load balancer 9500 (admin 2970), instances
// 9510/9520/9530 (admin 2971-2973).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-vipps/caddy-vipps/bench/internal/load"
	"github.com/caddy-vipps/caddy-vipps/bench/internal/proc"
	"github.com/caddy-vipps/caddy-vipps/internal/pgtest"
)

const (
	lbURL   = "http://127.0.0.1:9500"
	simAddr = "127.0.0.1:9501"
	simURL  = "http://" + simAddr
)

func instanceAddr(i int) string { return fmt.Sprintf("127.0.0.1:95%d0", i+1) }

func main() {
	caddyBin := flag.String("caddy", "./caddy", "the Caddy binary with the plugin (./xcaddy.sh build)")
	conc := flag.String("c", "1,16,64", "concurrent buyers, comma separated")
	dur := flag.Duration("d", 8*time.Second, "duration of each measurement")
	quick := flag.Bool("quick", false, "seconds in all: 4 buyers for 1s; fails if any request fails")
	flag.Parse()
	if *quick {
		*conc, *dur = "4", time.Second
	}
	if err := run(*caddyBin, *conc, *dur, *quick); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type setup struct {
	name      string
	store     string // badger or postgres
	instances int
}

func run(caddyBin, conc string, dur time.Duration, strict bool) error {
	var levels []int
	for _, f := range strings.Split(conc, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c < 1 {
			return fmt.Errorf("bad concurrency %q", f)
		}
		levels = append(levels, c)
	}
	caddyBin, err := filepath.Abs(caddyBin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(caddyBin); err != nil {
		return fmt.Errorf("%s: %w (build it with ./xcaddy.sh build)", caddyBin, err)
	}
	work, err := os.MkdirTemp("", "vipps-instances")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	simBin := filepath.Join(work, "vipps-sim")
	if out, err := exec.Command("go", "build", "-o", simBin, "./cmd/vipps-sim").CombinedOutput(); err != nil {
		return fmt.Errorf("building the simulator: %v\n%s", err, out)
	}
	sim := exec.Command(simBin, "-listen", simAddr, "-retention", "1m")
	sim.Stdout, sim.Stderr = io.Discard, io.Discard
	if err := sim.Start(); err != nil {
		return err
	}
	defer proc.Stop(sim)
	if _, err := proc.WaitUp(simURL+"/_sim/clock", 20*time.Second); err != nil {
		return fmt.Errorf("the simulator did not start: %w", err)
	}
	pg, err := pgtest.Start()
	if err != nil {
		return err
	}
	defer pg.Stop()

	setups := []setup{{"Badger, 1 instance", "badger", 1}, {"PostgreSQL, 1 instance", "postgres", 1}, {"PostgreSQL, 3 instances", "postgres", 3}}
	rates := map[string]map[int]float64{}
	failures := int64(0)
	postmaster, err := pg.PID()
	if err != nil {
		return err
	}
	fmt.Println("| store | buyers | checkouts/s | failed | p50 | p99 | Caddy CPU ms/checkout (all instances + proxy) | PostgreSQL CPU ms/checkout | ÷ Badger, 1 instance |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for n, s := range setups {
		dsn, err := pg.CreateDatabase(fmt.Sprintf("bench_%d", n))
		if err != nil {
			return err
		}
		stop, pids, err := start(caddyBin, work, s, dsn, n)
		if err != nil {
			return err
		}
		rates[s.name] = map[int]float64{}
		for _, c := range levels {
			pg0 := proc.TreeCPUSeconds(postmaster)
			r := load.Measure(pids, c, dur, checkout)
			pgCPU := "–"
			if s.store == "postgres" && r.OK > 0 {
				pgCPU = fmt.Sprintf("%.2f", (proc.TreeCPUSeconds(postmaster)-pg0)/float64(r.OK)*1000)
			}
			failures += r.Failed
			rates[s.name][c] = r.Rate()
			fmt.Printf("| %s | %d | %.1f | %d | %s | %s | %.2f | %s | **%.2f** |\n", s.name, c, r.Rate(), r.Failed,
				load.Ms(r.Pct(0.5)), load.Ms(r.Pct(0.99)), r.CPUPerOp(), pgCPU, r.Rate()/rates[setups[0].name][c])
		}
		stop()
	}
	if strict && failures > 0 {
		return fmt.Errorf("%d requests failed", failures)
	}
	return nil
}

// start starts a setup's instances and the proxy in front of them, and
// returns how to stop them and their process ids.
func start(caddyBin, work string, s setup, dsn string, n int) (func(), []int, error) {
	var cmds []*exec.Cmd
	stop := func() {
		for _, c := range cmds {
			proc.Stop(c)
		}
	}
	var upstreams []string
	for i := range s.instances {
		dir := filepath.Join(work, fmt.Sprintf("setup-%d-instance-%d", n, i+1))
		store := "store badger"
		if s.store == "postgres" {
			store = "store postgres {env.BENCH_DATABASE_URL}"
		}
		cfg := fmt.Sprintf(`{
	admin 127.0.0.1:%d
	persist_config off
	skip_install_trust
	grace_period 1s
	log {
		level WARN
	}
}

http://%s {
	vipps {
		environment test
		api_url %s
		client_id bench
		client_secret bench-secret
		subscription_key bench-key
		merchant_serial_number 123456
		public_url %s
		reference_prefix bench%d
		product socks 14900 "Wool socks" vat 25
		product mug 19900 "Coffee mug" vat 25
		%s
		data_dir %s
	}
	respond "instance" 200
}
`, 2971+i, instanceAddr(i), simURL, lbURL, n, store, filepath.Join(dir, "data"))
		cmd, err := caddy(caddyBin, dir, cfg, "BENCH_DATABASE_URL="+dsn)
		if err != nil {
			stop()
			return nil, nil, err
		}
		cmds = append(cmds, cmd)
		upstreams = append(upstreams, instanceAddr(i))
		if _, err := proc.WaitUp("http://"+instanceAddr(i)+"/vipps/shop.json", 60*time.Second); err != nil {
			stop()
			return nil, nil, fmt.Errorf("instance %d did not start: %w", i+1, err)
		}
	}
	lb := fmt.Sprintf(`{
	admin 127.0.0.1:2970
	persist_config off
	skip_install_trust
	grace_period 1s
	log {
		level WARN
	}
}

%s {
	reverse_proxy %s {
		lb_policy round_robin
	}
}
`, lbURL, strings.Join(upstreams, " "))
	cmd, err := caddy(caddyBin, filepath.Join(work, fmt.Sprintf("setup-%d-lb", n)), lb)
	if err != nil {
		stop()
		return nil, nil, err
	}
	cmds = append(cmds, cmd)
	if _, err := proc.WaitUp(lbURL+"/vipps/shop.json", 60*time.Second); err != nil {
		stop()
		return nil, nil, fmt.Errorf("the proxy did not start: %w", err)
	}
	var pids []int
	for _, c := range cmds {
		pids = append(pids, c.Process.Pid)
	}
	return stop, pids, nil
}

func caddy(bin, dir, cfg string, env ...string) (*exec.Cmd, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "run", "--config", path, "--adapter", "caddyfile")
	cmd.Env = append(append(os.Environ(), env...), "XDG_DATA_HOME="+filepath.Join(dir, "xdg"), "XDG_CONFIG_HOME="+filepath.Join(dir, "xdg"))
	logf, err := os.Create(filepath.Join(dir, "caddy.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	return cmd, cmd.Start()
}

var (
	client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cartForm = url.Values{"sku": {"socks", "mug"}, "qty": {"2", "1"}}.Encode()
)

// checkout posts the buy button's form through the proxy.
func checkout(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, lbURL+"/vipps/checkout", strings.NewReader(cartForm))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return errors.New("checkout: " + resp.Status)
	}
	return nil
}
