package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The crash scenario runs Caddy and the simulator as child processes on
// ports of their own, so it can kill Caddy for real.
const (
	crashShop  = "http://127.0.0.1:9382"
	crashSim   = "http://127.0.0.1:9383"
	crashAdmin = "127.0.0.1:2997"
)

func buildBinary(t *testing.T, dir, pkg, name string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("building %s: %v", pkg, err)
	}
	return out
}

// waitUp waits until u answers, with anything but a server error (a shop
// that has not started yet answers 503).
func waitUp(t *testing.T, u string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not come up: %v", u, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCaddyKilledDuringTraffic: buyers check out, approve and return, and a
// merchant ships, while Caddy is killed with SIGKILL at random moments and
// restarted on the same data directory. Every order a buyer was sent to
// Vipps for must exist afterwards, match its payment once the poller has
// run, and no payment may be captured twice.
func TestCaddyKilledDuringTraffic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills real processes")
	}
	buyers, kills := 40, 3
	if *long {
		buyers, kills = 200, 10
	}
	bin := t.TempDir()
	caddyBin := caddyBinary(t, bin)
	simBin := buildBinary(t, bin, "github.com/caddy-vipps/caddy-vipps/cmd/vipps-sim", "vipps-sim")

	sim := exec.Command(simBin, "-listen", strings.TrimPrefix(crashSim, "http://"))
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Process.Kill(); _ = sim.Wait() })
	waitUp(t, crashSim+"/_sim/clock")

	work := t.TempDir()
	config := filepath.Join(work, "Caddyfile")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(`{
	admin %s
	persist_config off
	skip_install_trust
	grace_period 1s
}

http://127.0.0.1:9382 {
	vipps {
		environment test
		api_url %s
		client_id crash-client
		client_secret {env.CRASH_CLIENT_SECRET}
		subscription_key {env.CRASH_SUB_KEY}
		merchant_serial_number 123456
		public_url %s
		reference_prefix crash
		product socks 14900 "Wool socks" vat 25
		product mug 19900 "Coffee mug" vat 25
		admin_token {env.CRASH_ADMIN_TOKEN}
		data_dir %s
		poll_interval 200ms
		timeout 5s
	}
	respond "shop" 200
}
`, crashAdmin, crashSim, crashShop, filepath.Join(work, "data"))), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "CRASH_CLIENT_SECRET=crash-secret", "CRASH_SUB_KEY=crash-key", "CRASH_ADMIN_TOKEN="+adminToken,
		"XDG_DATA_HOME="+filepath.Join(work, "xdg-data"), "XDG_CONFIG_HOME="+filepath.Join(work, "xdg-config"))
	var mu sync.Mutex
	var caddy *exec.Cmd
	start := func() {
		c := exec.Command(caddyBin, "run", "--config", config, "--adapter", "caddyfile")
		c.Env = env
		logf, _ := os.OpenFile(filepath.Join(work, "caddy.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		c.Stdout, c.Stderr = logf, logf
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		caddy = c
		mu.Unlock()
		waitUp(t, crashShop+"/")
	}
	start()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		_ = caddy.Process.Kill()
		_ = caddy.Wait()
	})

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	try := func(method, u, body string, header ...string) (*http.Response, error) {
		req, _ := http.NewRequest(method, u, strings.NewReader(body))
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp, err
	}
	var acked []string
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Buyers arrive over a while, so the kills land among them.
			time.Sleep(time.Duration(i) * 75 * time.Millisecond)
			sem <- struct{}{}
			defer func() { <-sem }()
			var ref string
			for attempt := 0; attempt < 50 && ref == ""; attempt++ {
				resp, err := try(http.MethodPost, crashShop+"/vipps/checkout", "sku=socks&qty=1&sku=mug&qty=1", "Content-Type", "application/x-www-form-urlencoded")
				if err == nil && resp.StatusCode == http.StatusSeeOther {
					ref = resp.Header.Get("X-Vipps-Reference")
					mu.Lock()
					acked = append(acked, ref)
					mu.Unlock()
					break
				}
				time.Sleep(200 * time.Millisecond) // Caddy is down or Vipps failed: the buyer tries again
			}
			if ref == "" {
				return
			}
			_, _ = try(http.MethodPost, crashSim+"/_sim/payments/"+ref+"/approve", "")
			for attempt := 0; attempt < 50; attempt++ {
				if resp, err := try(http.MethodGet, crashShop+"/vipps/return?reference="+ref, ""); err == nil && resp.StatusCode < 500 {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if i%2 == 0 {
				for attempt := 0; attempt < 50; attempt++ {
					resp, err := try(http.MethodPost, crashShop+"/vipps/orders/"+ref+"/ship", "", "Authorization", "Bearer "+adminToken)
					if err == nil && (resp.StatusCode == 200 || resp.StatusCode == 202 || resp.StatusCode == 409) {
						break
					}
					time.Sleep(200 * time.Millisecond)
				}
			}
		}()
	}
	killed := 0
	killerDone := make(chan struct{})
	go func() {
		defer close(killerDone)
		for killed < kills && ctx.Err() == nil {
			time.Sleep(time.Duration(300+rand.IntN(700)) * time.Millisecond)
			mu.Lock()
			c := caddy
			mu.Unlock()
			_ = c.Process.Signal(syscall.SIGKILL)
			_ = c.Wait()
			killed++
			start()
		}
	}()
	wg.Wait()
	stop()
	<-killerDone
	if killed == 0 {
		t.Fatal("Caddy was never killed during the traffic")
	}

	// Once the poller has run, every acknowledged order matches Vipps.
	type payment struct {
		Reference string
		State     string
		Aggregate struct{ AuthorizedAmount, CapturedAmount struct{ Value int64 } }
		Events    []struct{ Name string }
	}
	var payments map[string]payment
	local := map[string]map[string]any{}
	converged := func() bool {
		resp, err := http.Get(crashSim + "/_sim/payments")
		if err != nil {
			return false
		}
		var list []payment
		_ = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		payments = map[string]payment{}
		for _, p := range list {
			payments[p.Reference] = p
		}
		local = map[string]map[string]any{}
		cursor := ""
		for {
			req, _ := http.NewRequest(http.MethodGet, crashShop+"/vipps/orders?limit=500&cursor="+url.QueryEscape(cursor), nil)
			req.Header.Set("Authorization", "Bearer "+adminToken)
			resp, err := client.Do(req)
			if err != nil {
				return false
			}
			var page struct {
				Orders []map[string]any `json:"orders"`
				Next   string           `json:"next"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			for _, o := range page.Orders {
				local[o["reference"].(string)] = o
			}
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
		for ref, p := range payments {
			o, ok := local[ref]
			if !ok {
				return false
			}
			pay := o["payment"].(map[string]any)
			if int64(pay["authorized"].(float64)) != p.Aggregate.AuthorizedAmount.Value || int64(pay["captured"].(float64)) != p.Aggregate.CapturedAmount.Value {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(90 * time.Second)
	for !converged() {
		if time.Now().After(deadline) {
			t.Fatalf("local orders did not converge with the simulator after %d kills", killed)
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, ref := range acked {
		if _, ok := local[ref]; !ok {
			t.Errorf("order %s was acknowledged with a 303 and is gone after the kills", ref)
		}
	}
	doubles := 0
	for _, p := range payments {
		captures := 0
		for _, e := range p.Events {
			if e.Name == "CAPTURED" {
				captures++
			}
		}
		if captures > 1 {
			doubles++
		}
	}
	if doubles > 0 {
		t.Fatalf("%d payments were captured twice", doubles)
	}
	t.Logf("buyers %d, kills %d, orders acknowledged %d, local orders %d, payments at vipps %d; lost 0, double-applied 0",
		buyers, killed, len(acked), len(local), len(payments))
}
