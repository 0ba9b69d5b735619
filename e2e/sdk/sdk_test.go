package sdk

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/vipps"
	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

// requireEnv makes a missing node or SDK a failure instead of a skip (CI
// sets it, as for the browser walks).
const requireEnv = "VIPPS_E2E_REQUIRE_BROWSER"

// sdkPackage is what `npm ci` installs.
var sdkPackage = filepath.Join("node_modules", "@vippsmobilepay", "sdk", "package.json")

// coreCalls are the SDK calls the walk must make whatever else the SDK
// offers: an SDK that offered fewer would pass the walk's own "every call
// offered" check too easily.
var coreCalls = []string{
	"auth.getToken",
	"payment.cancel", "payment.capture", "payment.create", "payment.forceApprove", "payment.history", "payment.info", "payment.refund",
	"webhook.delete", "webhook.list", "webhook.register",
}

// missing skips the test, or fails it under VIPPS_E2E_REQUIRE_BROWSER=1.
func missing(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv(requireEnv) == "1" {
		t.Fatalf("%s; %s=1 makes this a failure", msg, requireEnv)
	}
	t.Skipf("%s; set %s=1 to make this a failure", msg, requireEnv)
}

// summary is the last line walk.mjs prints.
type summary struct {
	Done       bool     `json:"done"`
	Offered    []string `json:"offered"`
	Called     []string `json:"called"`
	References []string `json:"references"`
	Webhooks   int      `json:"webhooks"`
	Requests   int      `json:"requests"`
}

// TestOfficialNodeSDKWalk runs walk.mjs against a simulator on a real
// listener, then checks what the simulator holds against what the walk
// did: the payments' states and amounts, and every webhook delivered at
// the first attempt.
func TestOfficialNodeSDKWalk(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, fmt.Sprintf("the SDK walk needs Node.js (Debian: apt-get install nodejs npm): %v", err))
	}
	if _, err := os.Stat(sdkPackage); err != nil {
		missing(t, fmt.Sprintf("the SDK walk needs @vippsmobilepay/sdk (run `npm ci` in e2e/sdk/): %v", err))
	}

	s, err := sim.Open(sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		_ = s.Close()
	})
	base := "http://" + ln.Addr().String()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "walk.mjs")
	cmd.Env = append(os.Environ(), "SIM_URL="+base, "VIPPS_MSN=123456")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node walk.mjs: %v\n%s\nsteps done:\n%s", err, stderr.String(), stdout.String())
	}
	t.Logf("walk.mjs:\n%s", stdout.String())

	var sum summary
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line := sc.Bytes(); bytes.Contains(line, []byte(`"done":true`)) {
			if err := json.Unmarshal(line, &sum); err != nil {
				t.Fatalf("the summary %s: %v", line, err)
			}
		}
	}
	if !sum.Done {
		t.Fatal("walk.mjs ended without its summary")
	}
	for _, c := range coreCalls {
		if !slices.Contains(sum.Offered, c) || !slices.Contains(sum.Called, c) {
			t.Errorf("SDK call %s: offered %v, called %v", c, slices.Contains(sum.Offered, c), slices.Contains(sum.Called, c))
		}
	}
	if !slices.Equal(sum.Offered, sum.Called) {
		t.Errorf("offered %v, called %v", sum.Offered, sum.Called)
	}

	// What the simulator holds, by the walk's references.
	type want struct {
		state                         vipps.PaymentState
		captured, refunded, cancelled int64
	}
	wants := map[string]want{
		"web":    {vipps.StateAuthorized, 20000, 5000, 29900},
		"native": {vipps.StateAuthorized, 49900, 49900, 0},
		"qr":     {vipps.StateAuthorized, 0, 0, 49900},
		"qr-svg": {vipps.StateTerminated, 0, 0, 49900},
		"qr-png": {vipps.StateTerminated, 0, 0, 49900},
		"qr-url": {vipps.StateTerminated, 0, 0, 49900},
		"push":   {vipps.StateAuthorized, 49900, 0, 0},
		"":       {vipps.StateTerminated, 0, 0, 49900}, // the reference the SDK made
	}
	if len(sum.References) != len(wants) {
		t.Fatalf("the walk made %d payments %v, want %d", len(sum.References), sum.References, len(wants))
	}
	events := 0
	for _, ref := range sum.References {
		name := ""
		if strings.HasPrefix(ref, "sdk-") {
			name = ref[strings.Index(ref[4:], "-")+5:]
		}
		w, ok := wants[name]
		if !ok {
			t.Fatalf("unexpected reference %s", ref)
		}
		p, ok := s.Payment(ref)
		if !ok {
			t.Fatalf("the simulator has no payment %s", ref)
		}
		a := p.Aggregate
		if p.State != w.state || a.CapturedAmount.Value != w.captured || a.RefundedAmount.Value != w.refunded || a.CancelledAmount.Value != w.cancelled {
			t.Errorf("%s: %s captured %d refunded %d cancelled %d, want %+v", ref, p.State, a.CapturedAmount.Value, a.RefundedAmount.Value, a.CancelledAmount.Value, w)
		}
		for _, ev := range p.Events {
			if ev.Name != vipps.EventCreated && ev.Name != vipps.EventAuthorized && ev.IdempotencyKey == "" {
				t.Errorf("%s: the %s event carries no idempotency key", ref, ev.Name)
			}
		}
		events += len(p.Events)
	}
	deliveries := s.Deliveries()
	for _, d := range deliveries {
		if d.Outcome != "delivered" || d.Status != http.StatusOK || d.Attempt != 1 {
			t.Errorf("delivery %+v", d)
		}
	}
	if len(deliveries) != events || sum.Webhooks != events {
		t.Errorf("%d events, %d delivered, %d received by the walk", events, len(deliveries), sum.Webhooks)
	}
	if st := s.Stats(); st.Webhooks != 0 {
		t.Errorf("%d webhook registrations left after the walk deleted its own", st.Webhooks)
	}
}
