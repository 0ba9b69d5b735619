package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The three-instance scenario: its own ports, its own PostgreSQL.
const (
	lbURL       = "http://127.0.0.1:9400"
	clusterSim  = "http://127.0.0.1:9401"
	lbAdminPort = 2980
)

func instanceURL(i int) string { return fmt.Sprintf("http://127.0.0.1:94%d0", i+1) }

// caddyBinary is the Caddy with the plugin that the scenario runs: the one
// ./xcaddy.sh build made when VIPPS_CADDY_BIN names it (CI), else one built
// from ./cmd/caddy.
func caddyBinary(t *testing.T, dir string) string {
	if bin := os.Getenv("VIPPS_CADDY_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			t.Fatal(err)
		}
		return abs
	}
	return buildBinary(t, dir, "github.com/caddy-vipps/caddy-vipps/cmd/caddy", "caddy")
}

// process is a child Caddy that can be killed and started again.
type process struct {
	t      *testing.T
	name   string
	bin    string
	config string
	env    []string
	log    string
	probe  string

	mu  sync.Mutex
	cmd *exec.Cmd
}

func (p *process) start() {
	p.t.Helper()
	c := exec.Command(p.bin, "run", "--config", p.config, "--adapter", "caddyfile")
	c.Env = p.env
	logf, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	c.Stdout, c.Stderr = logf, logf
	if err := c.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.cmd = c
	p.mu.Unlock()
	waitUp(p.t, p.probe)
}

func (p *process) kill() {
	p.mu.Lock()
	c := p.cmd
	p.mu.Unlock()
	_ = c.Process.Signal(syscall.SIGKILL)
	_ = c.Wait()
}

func (p *process) stop() {
	p.mu.Lock()
	c := p.cmd
	p.mu.Unlock()
	if c != nil {
		_ = c.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = c.Process.Kill()
		}
	}
}

// TestThreeInstancesOnPostgres: one shop on three Caddy instances behind a
// fourth doing reverse_proxy round robin, one PostgreSQL, the simulator.
// Buyers check out, approve, come back (to whichever instance), and half
// of them are shipped with the merchant's Idempotency-Key, retried on any
// failure, while each instance is SIGKILLed and started again in turn and
// PostgreSQL is restarted once. Webhooks go to any instance. At the end:
// no acknowledged order is lost, every instance sees every order, the
// orders' amounts equal Vipps', the webhook is registered once, every
// authorized order has one receipt and every shipped order one capture.
func TestThreeInstancesOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills real processes")
	}
	buyers := 200
	pg := startPostgres(t)
	bin := t.TempDir()
	caddyBin := caddyBinary(t, bin)
	simBin := buildBinary(t, bin, "github.com/caddy-vipps/caddy-vipps/cmd/vipps-sim", "vipps-sim")
	work := t.TempDir()

	sim := exec.Command(simBin, "-listen", strings.TrimPrefix(clusterSim, "http://"))
	simLog, _ := os.Create(filepath.Join(work, "sim.log"))
	sim.Stdout, sim.Stderr = simLog, simLog
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Process.Kill(); _ = sim.Wait() })
	waitUp(t, clusterSim+"/_sim/clock")

	env := append(os.Environ(), "CLUSTER_CLIENT_SECRET=cluster-secret", "CLUSTER_SUB_KEY=cluster-key",
		"CLUSTER_ADMIN_TOKEN="+adminToken, "VIPPS_DATABASE_URL="+pg.DSN())
	var instances []*process
	for i := range 3 {
		dir := filepath.Join(work, fmt.Sprintf("instance-%d", i+1))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		cfg := filepath.Join(dir, "Caddyfile")
		if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`{
	admin 127.0.0.1:%d
	persist_config off
	skip_install_trust
	grace_period 1s
}

%s {
	vipps {
		environment test
		api_url %s
		client_id cluster-client
		client_secret {env.CLUSTER_CLIENT_SECRET}
		subscription_key {env.CLUSTER_SUB_KEY}
		merchant_serial_number 123456
		public_url %s
		reference_prefix cluster
		product socks 14900 "Wool socks" vat 25
		product mug 19900 "Coffee mug" vat 25
		admin_token {env.CLUSTER_ADMIN_TOKEN}
		store postgres {env.VIPPS_DATABASE_URL}
		data_dir %s
		poll_interval 200ms
		timeout 5s
	}
	respond "instance %d" 200
}
`, lbAdminPort+i+1, instanceURL(i), clusterSim, lbURL, filepath.Join(dir, "data"), i+1)), 0o600); err != nil {
			t.Fatal(err)
		}
		p := &process{t: t, name: fmt.Sprintf("instance %d", i+1), bin: caddyBin, config: cfg, log: filepath.Join(dir, "caddy.log"),
			// Up means the shop has started (its database open), not only
			// the HTTP server: PostgreSQL may be restarted right after.
			probe: instanceURL(i) + "/vipps/shop.json",
			env:   append(env, "XDG_DATA_HOME="+filepath.Join(dir, "xdg-data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "xdg-config"))}
		p.start()
		instances = append(instances, p)
	}
	lbConfig := filepath.Join(work, "lb.Caddyfile")
	if err := os.WriteFile(lbConfig, []byte(fmt.Sprintf(`{
	admin 127.0.0.1:%d
	persist_config off
	skip_install_trust
	grace_period 1s
}

%s {
	reverse_proxy %s %s %s {
		lb_policy round_robin
		lb_try_duration 10s
		lb_try_interval 100ms
		fail_duration 2s
	}
}
`, lbAdminPort, lbURL, strings.TrimPrefix(instanceURL(0), "http://"), strings.TrimPrefix(instanceURL(1), "http://"), strings.TrimPrefix(instanceURL(2), "http://"))), 0o600); err != nil {
		t.Fatal(err)
	}
	lb := &process{t: t, name: "load balancer", bin: caddyBin, config: lbConfig, log: filepath.Join(work, "lb.log"), probe: lbURL + "/",
		env: append(env, "XDG_DATA_HOME="+filepath.Join(work, "lb-data"), "XDG_CONFIG_HOME="+filepath.Join(work, "lb-config"))}
	lb.start()
	t.Cleanup(func() {
		for _, p := range append(instances, lb) {
			p.stop()
		}
		if t.Failed() {
			for _, p := range append(instances, lb) {
				if b, err := os.ReadFile(p.log); err == nil {
					t.Logf("--- last of %s's log:\n%s", p.name, tail(string(b), 3000))
				}
			}
		}
	})

	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	try := func(method, u, body string, header ...string) (int, string, http.Header, error) {
		req, _ := http.NewRequest(method, u, strings.NewReader(body))
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", nil, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header, nil
	}

	var mu sync.Mutex
	var acked, shipped []string
	var done atomic.Int32
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer done.Add(1)
			time.Sleep(time.Duration(i) * 40 * time.Millisecond)
			sem <- struct{}{}
			defer func() { <-sem }()
			var ref string
			for attempt := 0; attempt < 100 && ref == ""; attempt++ {
				code, _, h, err := try(http.MethodPost, lbURL+"/vipps/checkout", "sku=socks&qty=1&sku=mug&qty=1", "Content-Type", "application/x-www-form-urlencoded")
				if err == nil && code == http.StatusSeeOther {
					ref = h.Get("X-Vipps-Reference")
					mu.Lock()
					acked = append(acked, ref)
					mu.Unlock()
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if ref == "" {
				return
			}
			_, _, _, _ = try(http.MethodPost, clusterSim+"/_sim/payments/"+ref+"/approve", "")
			for attempt := 0; attempt < 100; attempt++ {
				if code, _, _, err := try(http.MethodGet, lbURL+"/vipps/return?reference="+ref, ""); err == nil && code < 500 {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if i%2 == 1 {
				return
			}
			key := "erp-ship-" + ref
			for attempt := 0; attempt < 150; attempt++ {
				code, _, _, err := try(http.MethodPost, lbURL+"/vipps/orders/"+ref+"/ship", "", "Authorization", "Bearer "+adminToken, "Idempotency-Key", key)
				if err == nil && (code == 200 || code == 202) {
					mu.Lock()
					shipped = append(shipped, ref)
					mu.Unlock()
					break
				}
				time.Sleep(300 * time.Millisecond)
			}
		}()
	}
	// Chaos: each instance killed and started again in turn, and PostgreSQL
	// restarted once, while the buyers come.
	chaosDone := make(chan struct{})
	var kills int
	go func() {
		defer close(chaosDone)
		for i, p := range instances {
			time.Sleep(1500 * time.Millisecond)
			p.kill()
			kills++
			time.Sleep(500 * time.Millisecond)
			p.start()
			if i == 1 {
				if err := pg.Restart(); err != nil {
					t.Errorf("restarting PostgreSQL: %v", err)
				}
			}
		}
	}()
	wg.Wait()
	<-chaosDone

	type payment struct {
		Reference string
		State     string
		Aggregate struct{ AuthorizedAmount, CapturedAmount struct{ Value int64 } }
		Events    []struct{ Name string }
	}
	listAt := func(base string) (map[string]map[string]any, bool) {
		out := map[string]map[string]any{}
		cursor := ""
		for {
			code, body, _, err := try(http.MethodGet, base+"/vipps/orders?limit=500&cursor="+url.QueryEscape(cursor), "", "Authorization", "Bearer "+adminToken, "Accept", "application/json")
			if err != nil || code != 200 {
				return nil, false
			}
			var page struct {
				Orders []map[string]any `json:"orders"`
				Next   string           `json:"next"`
			}
			_ = json.Unmarshal([]byte(body), &page)
			for _, o := range page.Orders {
				out[o["reference"].(string)] = o
			}
			if page.Next == "" {
				return out, true
			}
			cursor = page.Next
		}
	}
	var payments map[string]payment
	var local map[string]map[string]any
	var receipts map[string]int
	converged := func() (bool, string) {
		code, body, _, err := try(http.MethodGet, clusterSim+"/_sim/payments", "")
		if err != nil || code != 200 {
			return false, "simulator"
		}
		var list []payment
		_ = json.Unmarshal([]byte(body), &list)
		payments = map[string]payment{}
		for _, p := range list {
			payments[p.Reference] = p
		}
		code, body, _, err = try(http.MethodGet, clusterSim+"/_sim/receipts", "")
		if err != nil || code != 200 {
			return false, "receipts"
		}
		var rs []struct {
			OrderID string `json:"order_id"`
		}
		_ = json.Unmarshal([]byte(body), &rs)
		receipts = map[string]int{}
		for _, r := range rs {
			receipts[r.OrderID]++
		}
		var ok bool
		if local, ok = listAt(lbURL); !ok {
			return false, "list"
		}
		for ref, p := range payments {
			o, ok := local[ref]
			if !ok {
				return false, "order " + ref + " missing"
			}
			pay := o["payment"].(map[string]any)
			if int64(pay["authorized"].(float64)) != p.Aggregate.AuthorizedAmount.Value || int64(pay["captured"].(float64)) != p.Aggregate.CapturedAmount.Value {
				return false, "order " + ref + " differs from vipps"
			}
			if p.State == "AUTHORIZED" && receipts[ref] == 0 {
				return false, "receipt of " + ref
			}
		}
		return true, ""
	}
	deadline := time.Now().Add(4 * time.Minute)
	for {
		ok, why := converged()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the instances did not converge with the simulator: %s", why)
		}
		time.Sleep(time.Second)
	}
	lost := 0
	for _, ref := range acked {
		if _, ok := local[ref]; !ok {
			lost++
			t.Errorf("order %s was acknowledged and is gone", ref)
		}
	}
	for i := range instances {
		seen, ok := listAt(instanceURL(i))
		if !ok || len(seen) != len(local) {
			t.Errorf("instance %d sees %d orders, the load balancer %d", i+1, len(seen), len(local))
		}
	}
	doubles := 0
	for ref, p := range payments {
		captures := 0
		for _, e := range p.Events {
			if e.Name == "CAPTURED" {
				captures++
			}
		}
		if captures > 1 || receipts[ref] > 1 {
			doubles++
			t.Errorf("%s: %d captures, %d receipts", ref, captures, receipts[ref])
		}
	}
	for _, ref := range shipped {
		if p := payments[ref]; p.Aggregate.CapturedAmount.Value != p.Aggregate.AuthorizedAmount.Value {
			t.Errorf("shipped order %s captured %d of %d", ref, p.Aggregate.CapturedAmount.Value, p.Aggregate.AuthorizedAmount.Value)
		}
	}
	// One registration at Vipps in the end: one that an instance left
	// without storing its secret (killed in between, or racing another when
	// the database restarted under the lock) fails every signature, and the
	// first failure makes an instance remove it (at most once a minute).
	registrations := func() (int, string) {
		code, body, _, _ := try(http.MethodGet, clusterSim+"/_sim/webhooks", "")
		if code != 200 {
			return -1, body
		}
		return strings.Count(body, `"url"`), body
	}
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(time.Second) {
		n, body := registrations()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("webhook registrations at vipps: %s", body)
			break
		}
	}
	// Sign out ends the admin sessions on every instance: a session made
	// on the first, signed out on the second, signs no one in on the third.
	_, _, h, err := try(http.MethodPost, instanceURL(0)+"/vipps/admin/login", "token="+adminToken, "Content-Type", "application/x-www-form-urlencoded")
	cookie, _, _ := strings.Cut(h.Get("Set-Cookie"), ";")
	if err != nil || !strings.HasPrefix(cookie, "vipps_admin=") {
		t.Fatalf("sign in on instance 1: %v %q", err, cookie)
	}
	signedIn := func(i int) bool {
		code, body, _, err := try(http.MethodGet, instanceURL(i)+"/vipps/admin", "", "Cookie", cookie, "Accept", "text/html")
		return err == nil && code == http.StatusOK && strings.Contains(body, `id="orders"`)
	}
	if !signedIn(2) {
		t.Fatal("a session made on instance 1 does not sign in on instance 3")
	}
	if code, _, _, err := try(http.MethodPost, instanceURL(1)+"/vipps/admin/logout", "", "Cookie", cookie, "Origin", lbURL); err != nil || code != http.StatusSeeOther {
		t.Fatalf("sign out on instance 2: %d %v", code, err)
	}
	if signedIn(2) || signedIn(0) {
		t.Fatal("after signing out on instance 2 the session still signs in on instances 3 or 1")
	}
	t.Logf("instances 3, buyers %d, kills %d, PostgreSQL restarts 1; orders acknowledged %d, orders %d, payments at vipps %d, shipped %d, receipts %d; lost %d, double-applied %d",
		buyers, kills, len(acked), len(local), len(payments), len(shipped), len(receipts), lost, doubles)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
