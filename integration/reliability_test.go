package integration

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// -long runs the reliability scenarios at the sizes RELIABILITY.md reports.
var long = flag.Bool("long", false, "run the long variants of the reliability scenarios")

// webhookSecret reads the secret of the shop's registration from the
// simulator's control API.
func webhookSecret(t *testing.T) string {
	t.Helper()
	var secret string
	waitFor(t, "the webhook registration", func() bool {
		_, b := do(t, http.MethodGet, simURL+"/_sim/webhooks", nil)
		var hooks []struct{ URL, Secret string }
		_ = json.Unmarshal(b, &hooks)
		for _, h := range hooks {
			if h.URL == shopURL+"/vipps/webhook" {
				secret = h.Secret
			}
		}
		return secret != ""
	})
	return secret
}

// signedDelivery builds a webhook request signed like Vipps signs.
func signedDelivery(t *testing.T, secret string, body []byte, date time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, shopURL+"/vipps/webhook", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	vipps.SignWebhookRequest(req, secret, body, date)
	return req
}

func send(t *testing.T, req *http.Request) int {
	t.Helper()
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestWebhookAttacksAreRefused(t *testing.T) {
	startShop(t, shopConfig{})
	secret := webhookSecret(t)
	ref, _ := checkout(t, url.Values{"sku": {"socks"}})
	before := storedOrder(t, ref)
	event := func(name string) []byte {
		b, _ := json.Marshal(vipps.WebhookEvent{MSN: "123456", Reference: ref, PSPReference: "1", Name: vipps.EventName(name),
			Amount: vipps.Amount{Currency: "NOK", Value: 14900}, Timestamp: time.Now(), Success: true})
		return b
	}
	body := event("AUTHORIZED")
	refusals := scrape(t)

	cases := []struct {
		name   string
		req    func() *http.Request
		status int
	}{
		{"wrong secret", func() *http.Request { return signedDelivery(t, "not-the-secret", body, time.Now()) }, 401},
		{"body changed after signing", func() *http.Request {
			tampered := bytes.Replace(body, []byte("14900"), []byte("99999"), 1)
			r, _ := http.NewRequest(http.MethodPost, shopURL+"/vipps/webhook", bytes.NewReader(tampered))
			vipps.SignWebhookRequest(r, secret, body, time.Now())
			return r
		}, 401},
		{"stale date", func() *http.Request { return signedDelivery(t, secret, body, time.Now().Add(-10*time.Minute)) }, 401},
		{"future date", func() *http.Request { return signedDelivery(t, secret, body, time.Now().Add(10*time.Minute)) }, 401},
		{"missing headers", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, shopURL+"/vipps/webhook", bytes.NewReader(body))
			return r
		}, 401},
		{"signature of another path", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, shopURL+"/vipps/webhook?x=1", bytes.NewReader(body))
			vipps.SignWebhookRequest(r, secret, body, time.Now())
			r.URL.RawQuery = ""
			return r
		}, 401},
		{"huge body", func() *http.Request {
			huge := append(bytes.Repeat([]byte(" "), 200<<10), body...)
			return signedDelivery(t, secret, huge, time.Now())
		}, 413},
		{"valid signature, malformed payload", func() *http.Request { return signedDelivery(t, secret, []byte(`{"name":`), time.Now()) }, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := noRedirect.Do(c.req())
			if err != nil {
				// The server stops reading an oversized body and closes
				// the connection; a client still writing it may see the
				// reset before the 413.
				if c.status == http.StatusRequestEntityTooLarge && strings.Contains(err.Error(), "reset") {
					return
				}
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
		})
	}
	if after := storedOrder(t, ref); after.Status != before.Status || len(after.History) != len(before.History) {
		t.Fatalf("refused deliveries changed the order: %+v", after)
	}
	m := scrape(t)
	var refused float64
	for k, v := range m {
		if strings.HasPrefix(k, "caddy_vipps_webhook_rejections_total") {
			refused += v - refusals[k]
		}
	}
	if refused != float64(len(cases)) {
		t.Fatalf("%v refusals counted, want %d", refused, len(cases))
	}

	// The forged AUTHORIZED never made the order paid: only Vipps says so.
	if s := storedOrder(t, ref).Status; s != "pending" {
		t.Fatalf("status after attacks: %s", s)
	}
}

func TestWebhookReplayIsRefused(t *testing.T) {
	startShop(t, shopConfig{})
	secret := webhookSecret(t)
	ref, _ := checkout(t, url.Values{"sku": {"socks"}})
	body, _ := json.Marshal(vipps.WebhookEvent{MSN: "123456", Reference: ref, Name: vipps.EventCreated, Timestamp: time.Now(), Success: true})
	date := time.Now()
	if got := send(t, signedDelivery(t, secret, body, date)); got != http.StatusNoContent {
		t.Fatalf("first delivery: %d", got)
	}
	if got := send(t, signedDelivery(t, secret, body, date)); got != http.StatusUnauthorized {
		t.Fatalf("replayed delivery: %d, want 401", got)
	}
}

func TestGuessedReferencesFindNothing(t *testing.T) {
	startShop(t, shopConfig{})
	real, _ := checkout(t, url.Values{"sku": {"socks"}})
	n := 10000
	if testing.Short() {
		n = 1000
	}
	enc := base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
	var wg sync.WaitGroup
	var mu sync.Mutex
	found := 0
	jobs := make(chan string)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: testTimeout}
			for ref := range jobs {
				resp, err := client.Get(shopURL + "/vipps/orders/" + ref)
				if err != nil {
					t.Error(err)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusNotFound {
					mu.Lock()
					found++
					mu.Unlock()
				}
			}
		}()
	}
	for range n {
		b := make([]byte, 13)
		_, _ = rand.Read(b)
		jobs <- "test-" + enc.EncodeToString(b)[:20]
	}
	close(jobs)
	wg.Wait()
	if found != 0 {
		t.Fatalf("%d of %d guessed references found an order", found, n)
	}
	if resp, _ := do(t, http.MethodGet, shopURL+"/vipps/orders/"+real, nil); resp.StatusCode != 200 {
		t.Fatalf("the real order: %d", resp.StatusCode)
	}
	t.Logf("%d guessed references, none found", n)
}

func TestSecretsNeverLeak(t *testing.T) {
	const (
		clientSecret = "client-secret-Zx81kq"
		subKey       = "subscription-key-Qm27pw"
		notifySecret = "notify-secret-Lp03vd-long"
		phone        = "4798765432"
	)
	os.Setenv("VIPPS_TEST_CLIENT_SECRET", clientSecret)
	os.Setenv("VIPPS_TEST_SUB_KEY", subKey)
	os.Setenv("VIPPS_TEST_NOTIFY_SECRET", notifySecret)
	os.Setenv("VIPPS_TEST_ADMIN", adminToken)
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	startShop(t, shopConfig{
		AdminToken: "{env.VIPPS_TEST_ADMIN}",
		Global:     "log {\n\t\toutput file " + logFile + "\n\t\tlevel DEBUG\n\t}",
		Extra: "client_id simulator-client\n\t\tclient_secret {env.VIPPS_TEST_CLIENT_SECRET}\n\t\tsubscription_key {env.VIPPS_TEST_SUB_KEY}\n\t\t" +
			"notify_url http://127.0.0.1:9/notify\n\t\tnotify_secret {env.VIPPS_TEST_NOTIFY_SECRET}",
	})
	secret := webhookSecret(t)
	ref, _ := checkout(t, url.Values{"sku": {"socks"}, "phone": {"+47 987 65 432"}})
	simPost(t, "/_sim/payments/"+ref+"/approve", "")
	do(t, http.MethodGet, shopURL+"/vipps/return?reference="+ref, nil)
	merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/ship", "")
	// error pages and refusals too
	do(t, http.MethodPost, shopURL+"/vipps/checkout", strings.NewReader("sku=nope&phone="+phone), "Content-Type", "application/x-www-form-urlencoded")
	do(t, http.MethodPost, shopURL+"/vipps/orders/"+ref+"/ship", nil, "Authorization", "Bearer "+adminToken+"x")
	send(t, signedDelivery(t, "wrong", []byte(`{}`), time.Now()))
	_, page := do(t, http.MethodGet, shopURL+"/vipps/orders/"+ref, nil)
	_, cfg := do(t, http.MethodGet, "http://localhost:2999/config/", nil)
	time.Sleep(300 * time.Millisecond)
	logs, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(logs, []byte(ref)) {
		t.Fatalf("the debug log does not mention the order; is it the right file?")
	}
	for name, secretValue := range map[string]string{
		"client_secret": clientSecret, "subscription key": subKey, "admin token": adminToken,
		"webhook secret": secret, "notify secret": notifySecret, "phone number": phone,
	} {
		for where, text := range map[string][]byte{"the debug log": logs, "/config/": cfg, "the buyer view": page} {
			if bytes.Contains(text, []byte(secretValue)) {
				t.Errorf("the %s appears in %s", name, where)
			}
		}
	}
	if !bytes.Contains(cfg, []byte("{env.VIPPS_TEST_CLIENT_SECRET}")) {
		t.Fatalf("the config does not keep the placeholder")
	}
}

// TestProviderFaults drives orders through a Vipps that fails a share of
// its calls (500, 503, 429 with Retry-After, slow answers, answers lost after
// the work was done) and disturbs webhooks (drops, duplicates, delays,
// reorders), then checks the invariants against the simulator's records.
func TestProviderFaults(t *testing.T) {
	orders := 40
	if *long {
		orders = 1000
	}
	startShop(t, shopConfig{Extra: "timeout 5s"})
	faults := []string{
		`{"operation":"*","status":500,"rate":0.05}`,
		`{"operation":"*","status":503,"rate":0.05}`,
		`{"operation":"*","status":429,"retry_after":"1s","rate":0.04}`,
		`{"operation":"*","delay":"300ms","rate":0.03}`,
		`{"operation":"create","drop_after_commit":true,"rate":0.03}`,
		`{"operation":"capture","drop_after_commit":true,"rate":0.1}`,
	}
	for _, f := range faults {
		simPost(t, "/_sim/faults", f)
	}
	for _, f := range []string{`{"mode":"drop","rate":0.1}`, `{"mode":"duplicate","rate":0.1}`, `{"mode":"delay","delay":"2s","rate":0.05}`, `{"mode":"reorder","rate":0.05}`} {
		simPost(t, "/_sim/webhooks/faults", f)
	}
	t.Cleanup(func() {
		do(t, http.MethodDelete, simURL+"/_sim/faults", nil)
		do(t, http.MethodDelete, simURL+"/_sim/webhooks/faults", nil)
	})

	var mu sync.Mutex
	created, failedCheckouts, shipped := []string{}, 0, 0
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range orders {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			resp, err := noRedirect.PostForm(shopURL+"/vipps/checkout", url.Values{"sku": {"socks", "mug"}, "qty": {"1", fmt.Sprint(i%3 + 1)}})
			if err != nil {
				t.Errorf("checkout: %v", err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				mu.Lock()
				failedCheckouts++
				mu.Unlock()
				if resp.StatusCode != 503 && resp.StatusCode != 502 {
					t.Errorf("checkout answered %d", resp.StatusCode)
				}
				return
			}
			ref := resp.Header.Get("X-Vipps-Reference")
			mu.Lock()
			created = append(created, ref)
			mu.Unlock()
			if i%4 == 3 {
				return // this buyer walks away: the payment expires at Vipps
			}
			action := "approve"
			if i%5 == 4 {
				action = "reject"
			}
			do(t, http.MethodPost, simURL+"/_sim/payments/"+ref+"/"+action, nil)
			do(t, http.MethodGet, shopURL+"/vipps/return?reference="+ref, nil)
			if action == "approve" && i%2 == 0 {
				for attempt := 0; attempt < 20; attempt++ {
					r, _ := merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/ship", "")
					if r.StatusCode == 200 || r.StatusCode == 202 {
						mu.Lock()
						shipped++
						mu.Unlock()
						break
					}
					time.Sleep(300 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	do(t, http.MethodDelete, simURL+"/_sim/faults", nil)
	do(t, http.MethodDelete, simURL+"/_sim/webhooks/faults", nil)

	// Let the poller, the outbox and webhook retries settle.
	type simView struct {
		Reference string
		State     string
		Amount    struct{ Value int64 }
		Aggregate struct {
			AuthorizedAmount, CapturedAmount, CancelledAmount, RefundedAmount struct{ Value int64 }
		}
		Events []simEvent
	}
	var payments map[string]simView
	settled := func() bool {
		_, b := do(t, http.MethodGet, simURL+"/_sim/payments", nil)
		var list []simView
		_ = json.Unmarshal(b, &list)
		payments = map[string]simView{}
		for _, p := range list {
			payments[p.Reference] = p
		}
		local := map[string]orderJSON{}
		for _, o := range listOrders(t, "") {
			local[o.Reference] = o
		}
		for ref, p := range payments {
			o, ok := local[ref]
			if !ok || o.Payment.Authorized != p.Aggregate.AuthorizedAmount.Value || o.Payment.Captured != p.Aggregate.CapturedAmount.Value ||
				o.Payment.Cancelled != p.Aggregate.CancelledAmount.Value || (p.State == "AUTHORIZED" && o.Receipt != "sent") {
				return false
			}
			if (p.State == "CREATED") != (o.Status == "pending") {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(90 * time.Second)
	for !settled() {
		if time.Now().After(deadline) {
			t.Fatal("local state did not converge with the simulator's")
		}
		time.Sleep(500 * time.Millisecond)
	}

	local := listOrders(t, "")
	byRef := map[string]orderJSON{}
	for _, o := range local {
		byRef[o.Reference] = o
	}
	// Every order a buyer was sent to Vipps for exists.
	for _, ref := range created {
		if _, ok := byRef[ref]; !ok {
			t.Errorf("order %s, acknowledged with a 303, is missing", ref)
		}
		if _, ok := payments[ref]; !ok {
			t.Errorf("order %s has no payment at vipps", ref)
		}
	}
	doubles := 0
	for ref, p := range payments {
		o := byRef[ref]
		if countEvents(simPayment{Events: p.Events}, "CAPTURED") > 1 || countEvents(simPayment{Events: p.Events}, "CREATED") != 1 {
			doubles++
		}
		if o.Payment.Captured > o.Payment.Authorized || o.Payment.Refunded > o.Payment.Captured {
			t.Errorf("order %s breaks the money invariants: %+v", ref, o.Payment)
		}
	}
	// Orders without a payment are those whose create never reached Vipps.
	orphans := 0
	for _, o := range local {
		if _, ok := payments[o.Reference]; !ok {
			orphans++
			if o.Status != "failed" && (o.Status != "pending" || o.AtVipps) {
				t.Errorf("order %s is %s but vipps has no payment", o.Reference, o.Status)
			}
		}
	}
	if doubles != 0 {
		t.Fatalf("%d payments had an operation applied twice", doubles)
	}
	_, b := do(t, http.MethodGet, simURL+"/_sim/webhooks/deliveries", nil)
	var deliveries []struct{ Outcome string }
	_ = json.Unmarshal(b, &deliveries)
	outcomes := map[string]int{}
	for _, d := range deliveries {
		outcomes[d.Outcome]++
	}
	t.Logf("orders %d: checkouts refused by faults %d, created %d (payments at vipps %d, orders without payment %d), shipped %d; webhook deliveries %v; lost 0, double-applied %d",
		orders, failedCheckouts, len(created), len(payments), orphans, shipped, outcomes, doubles)
}
