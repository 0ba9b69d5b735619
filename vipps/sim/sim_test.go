package sim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/vipps"
	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

type env struct {
	sim    *sim.Simulator
	srv    *httptest.Server
	client *vipps.Client
	clock  *sim.FakeClock
}

func newEnv(t *testing.T) *env { return newEnvWith(t, sim.Options{}) }

// newEnvWith starts a simulator with opts on a fake clock.
func newEnvWith(t *testing.T, opts sim.Options) *env {
	t.Helper()
	clock := sim.NewFakeClock(time.Now())
	opts.Clock = clock
	s := sim.New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		srv.Close()
		s.Close()
	})
	c, err := vipps.New(vipps.Config{
		BaseURL: srv.URL, ClientID: "id", ClientSecret: "secret", SubscriptionKey: "sub-key",
		MerchantSerialNumber: "123456", RetryBaseDelay: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: s, srv: srv, client: c, clock: clock}
}

func validCreate(ref string) vipps.CreatePaymentRequest {
	return vipps.CreatePaymentRequest{
		Amount:             vipps.Amount{Currency: "NOK", Value: 49900},
		PaymentMethod:      vipps.PaymentMethod{Type: "WALLET"},
		Reference:          ref,
		UserFlow:           "WEB_REDIRECT",
		ReturnURL:          "https://shop.example/return?reference=" + ref,
		PaymentDescription: "One pair of socks",
	}
}

// raw sends a request with the headers a real client sends, letting each
// test drop or change some.
func (e *env) raw(t *testing.T, method, path string, body any, headers map[string]string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			data, _ := json.Marshal(b)
			rd = bytes.NewReader(data)
		}
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	token, err := e.client.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Ocp-Apim-Subscription-Key", "sub-key")
	req.Header.Set("Merchant-Serial-Number", "123456")
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func errorCode(body []byte) string {
	var p struct {
		ExtraDetails []struct{ Name, Reason string } `json:"extraDetails"`
	}
	_ = json.Unmarshal(body, &p)
	for _, d := range p.ExtraDetails {
		if d.Name == "ErrorCode" {
			return d.Reason
		}
	}
	return ""
}

func TestCreateValidation(t *testing.T) {
	e := newEnv(t)
	mod := func(f func(r *vipps.CreatePaymentRequest)) vipps.CreatePaymentRequest {
		r := validCreate("ref-valid-000001")
		f(&r)
		return r
	}
	long := strings.Repeat("x", 101)
	tests := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"short reference", mod(func(r *vipps.CreatePaymentRequest) { r.Reference = "abc" }), 400, ""},
		{"reference with space", mod(func(r *vipps.CreatePaymentRequest) { r.Reference = "abc defghij" }), 400, ""},
		{"reference too long", mod(func(r *vipps.CreatePaymentRequest) { r.Reference = strings.Repeat("a", 65) }), 400, ""},
		{"unknown currency", mod(func(r *vipps.CreatePaymentRequest) { r.Amount.Currency = "USD" }), 400, "5040"},
		{"missing currency", mod(func(r *vipps.CreatePaymentRequest) { r.Amount.Currency = "" }), 400, ""},
		{"negative amount", mod(func(r *vipps.CreatePaymentRequest) { r.Amount.Value = -1 }), 400, ""},
		{"amount over max", mod(func(r *vipps.CreatePaymentRequest) { r.Amount.Value = 65_000_001 }), 400, ""},
		{"amount below NOK minimum", mod(func(r *vipps.CreatePaymentRequest) { r.Amount.Value = 99 }), 400, "6010"},
		{"decimal amount", `{"amount":{"currency":"NOK","value":499.5},"paymentMethod":{"type":"WALLET"},"reference":"ref-decimal-01","userFlow":"WEB_REDIRECT","returnUrl":"https://x.example/"}`, 400, "4040"},
		{"malformed json", `{"amount":`, 400, ""},
		{"bad payment method", mod(func(r *vipps.CreatePaymentRequest) { r.PaymentMethod.Type = "CASH" }), 400, ""},
		{"bad user flow", mod(func(r *vipps.CreatePaymentRequest) { r.UserFlow = "TELEPATHY" }), 400, ""},
		{"web redirect without return url", mod(func(r *vipps.CreatePaymentRequest) { r.ReturnURL = "" }), 400, "4140"},
		{"push without customer", mod(func(r *vipps.CreatePaymentRequest) { r.UserFlow = "PUSH_MESSAGE"; r.ReturnURL = "" }), 400, "4140"},
		{"card with push", mod(func(r *vipps.CreatePaymentRequest) {
			r.PaymentMethod.Type = "CARD"
			r.UserFlow = "PUSH_MESSAGE"
			r.Customer = &vipps.Customer{PhoneNumber: "4791234567"}
		}), 400, "4160"},
		{"relative return url", mod(func(r *vipps.CreatePaymentRequest) { r.ReturnURL = "/return" }), 400, "4090"},
		{"description too short", mod(func(r *vipps.CreatePaymentRequest) { r.PaymentDescription = "ab" }), 400, ""},
		{"description too long", mod(func(r *vipps.CreatePaymentRequest) { r.PaymentDescription = long }), 400, ""},
		{"bad phone", mod(func(r *vipps.CreatePaymentRequest) { r.Customer = &vipps.Customer{PhoneNumber: "+47 912"} }), 400, "4070"},
		{"two customer fields", mod(func(r *vipps.CreatePaymentRequest) {
			r.Customer = &vipps.Customer{PhoneNumber: "4791234567", CustomerToken: "t"}
		}), 400, ""},
		{"six metadata entries", mod(func(r *vipps.CreatePaymentRequest) {
			r.Metadata = map[string]string{"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6"}
		}), 400, "4100"},
		{"metadata key too long", mod(func(r *vipps.CreatePaymentRequest) { r.Metadata = map[string]string{long: "1"} }), 400, "4120"},
		{"metadata value too long", mod(func(r *vipps.CreatePaymentRequest) { r.Metadata = map[string]string{"k": strings.Repeat("v", 501)} }), 400, "4130"},
		{"unknown scope", mod(func(r *vipps.CreatePaymentRequest) { r.Profile = &vipps.ProfileRequest{Scope: "name shoesize"} }), 400, "4080"},
		{"illegal scope", mod(func(r *vipps.CreatePaymentRequest) { r.Profile = &vipps.ProfileRequest{Scope: "name nin"} }), 400, "5030"},
		{"expiresAt without receipt", mod(func(r *vipps.CreatePaymentRequest) { at := time.Now().Add(time.Hour); r.ExpiresAt = &at }), 400, "6130"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.raw(t, http.MethodPost, "/epayment/v1/payments", tt.body, map[string]string{"Idempotency-Key": "key-" + string(rune('a'+i))})
			if status != tt.status || errorCode(body) != tt.code {
				t.Fatalf("status %d code %q, want %d %q: %s", status, errorCode(body), tt.status, tt.code, body)
			}
			if !strings.Contains(string(body), `"traceId"`) {
				t.Fatalf("no traceId in %s", body)
			}
		})
	}
	if n := len(e.sim.Payments()); n != 0 {
		t.Fatalf("invalid requests created %d payments", n)
	}
}

func TestHeaders(t *testing.T) {
	e := newEnv(t)
	body := validCreate("ref-headers-001")
	cases := []struct {
		name    string
		headers map[string]string
		status  int
		want    string
	}{
		{"no subscription key", map[string]string{"Ocp-Apim-Subscription-Key": ""}, 401, "missing subscription key"},
		{"no bearer", map[string]string{"Authorization": ""}, 401, "access token"},
		{"bearer without scheme", map[string]string{"Authorization": "abc"}, 401, "access token"},
		{"unknown token", map[string]string{"Authorization": "Bearer nope"}, 401, "access token"},
		{"other subscription key", map[string]string{"Ocp-Apim-Subscription-Key": "other"}, 401, "invalid subscription key"},
		{"no msn", map[string]string{"Merchant-Serial-Number": "", "Idempotency-Key": "k1"}, 400, "Merchant-Serial-Number"},
		{"no idempotency key", nil, 400, "Idempotency-Key"},
		{"long idempotency key", map[string]string{"Idempotency-Key": strings.Repeat("k", 51)}, 400, "Idempotency-Key"},
		{"long system name", map[string]string{"Vipps-System-Name": strings.Repeat("s", 31), "Idempotency-Key": "k2"}, 400, "Vipps-System-Name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, b := e.raw(t, http.MethodPost, "/epayment/v1/payments", body, c.headers)
			if status != c.status || !strings.Contains(string(b), c.want) {
				t.Fatalf("status %d body %s, want %d mentioning %q", status, b, c.status, c.want)
			}
		})
	}
	// The token endpoint wants a subscription key and credentials.
	resp, err := http.Post(e.srv.URL+"/accessToken/get", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("token without key: %d", resp.StatusCode)
	}
}

func TestIdempotency(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	req := validCreate("ref-idem-00001")
	first, err := e.client.CreatePayment(ctx, "key-1", req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.client.CreatePayment(ctx, "key-1", req)
	if err != nil || again.RedirectURL != first.RedirectURL {
		t.Fatalf("replay: %+v %v", again, err)
	}
	other := req
	other.Amount.Value = 100
	_, err = e.client.CreatePayment(ctx, "key-1", other)
	if vipps.StatusCode(err) != 409 || vipps.ErrorCode(err) != "4020" {
		t.Fatalf("same key, other body: %v", err)
	}
	_, err = e.client.CreatePayment(ctx, "key-2", req)
	if vipps.StatusCode(err) != 409 || vipps.ErrorCode(err) != "4150" {
		t.Fatalf("same reference, new key: %v", err)
	}
	// A 4xx is replayed as a 4xx for its key, even after the cause is gone.
	bad := validCreate("ref-idem-00002")
	bad.Amount.Currency = "USD"
	_, err1 := e.client.CreatePayment(ctx, "key-3", bad)
	_, err2 := e.client.CreatePayment(ctx, "key-3", bad)
	if vipps.ErrorCode(err1) != "5040" || vipps.ErrorCode(err2) != "5040" {
		t.Fatalf("4xx replay: %v / %v", err1, err2)
	}
	if n := len(e.sim.Payments()); n != 1 {
		t.Fatalf("%d payments, want 1", n)
	}
	// Capture: same key + other amount is 4010.
	if err := e.sim.Approve("ref-idem-00001"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CapturePayment(ctx, "ref-idem-00001", "cap-1", vipps.Amount{Currency: "NOK", Value: 100}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CapturePayment(ctx, "ref-idem-00001", "cap-1", vipps.Amount{Currency: "NOK", Value: 200}); vipps.ErrorCode(err) != "4010" {
		t.Fatalf("capture conflict: %v", err)
	}
	p, _ := e.client.GetPayment(ctx, "ref-idem-00001")
	if p.Aggregate.CapturedAmount.Value != 100 {
		t.Fatalf("captured %d", p.Aggregate.CapturedAmount.Value)
	}
}

// TestLostResponseRetryCreatesOnePayment: the create commits but the answer
// is lost; the client retries with the same key and gets the stored 201.
func TestLostResponseRetryCreatesOnePayment(t *testing.T) {
	e := newEnv(t)
	e.sim.InjectFault(sim.Fault{Operation: "create", DropAfterCommit: true, Budget: sim.Budget{Count: 1}})
	resp, err := e.client.CreatePayment(context.Background(), "key-lost", validCreate("ref-lost-000001"))
	if err != nil {
		t.Fatalf("the client did not recover: %v", err)
	}
	if resp.Reference != "ref-lost-000001" || resp.RedirectURL == "" {
		t.Fatalf("answer %+v", resp)
	}
	if n := len(e.sim.Payments()); n != 1 {
		t.Fatalf("%d payments, want exactly 1", n)
	}
}

func TestFaultStatusAndRetryAfter(t *testing.T) {
	e := newEnv(t)
	e.sim.InjectFault(sim.Fault{Operation: "create", Status: 429, RetryAfter: sim.Duration(time.Second), Budget: sim.Budget{Count: 1}})
	e.sim.InjectFault(sim.Fault{Operation: "create", Status: 503, Budget: sim.Budget{Count: 1}})
	start := time.Now()
	if _, err := e.client.CreatePayment(context.Background(), "key-f", validCreate("ref-fault-00001")); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < time.Second {
		t.Fatal("the client did not honour Retry-After")
	}
	if n := len(e.sim.Payments()); n != 1 {
		t.Fatalf("%d payments", n)
	}
}

func TestStateMachine(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	create := func(ref string) {
		t.Helper()
		if _, err := e.client.CreatePayment(ctx, "k-"+ref, validCreate(ref)); err != nil {
			t.Fatal(err)
		}
	}
	// approve, partial captures, cancel the rest, refund.
	create("ref-sm-000001")
	if _, err := e.client.CapturePayment(ctx, "ref-sm-000001", "c0", vipps.Amount{Currency: "NOK", Value: 100}); vipps.ErrorCode(err) != "6080" {
		t.Fatalf("capture before approval: %v", err)
	}
	if err := e.client.ForceApprove(ctx, "ref-sm-000001", vipps.ForceApproveRequest{}); err != nil {
		t.Fatal(err)
	}
	m, err := e.client.CapturePayment(ctx, "ref-sm-000001", "c1", vipps.Amount{Currency: "NOK", Value: 20000})
	if err != nil || m.Aggregate.CapturedAmount.Value != 20000 || m.State != vipps.StateAuthorized || m.Amount.Value != 49900 {
		t.Fatalf("capture: %+v %v", m, err)
	}
	if _, err := e.client.CapturePayment(ctx, "ref-sm-000001", "c2", vipps.Amount{Currency: "NOK", Value: 29901}); vipps.ErrorCode(err) != "6090" {
		t.Fatalf("capture over remaining: %v", err)
	}
	if _, err := e.client.RefundPayment(ctx, "ref-sm-000001", "r1", vipps.Amount{Currency: "NOK", Value: 20001}); vipps.ErrorCode(err) != "6150" {
		t.Fatalf("refund over captured: %v", err)
	}
	if _, err := e.client.CancelPayment(ctx, "ref-sm-000001", "x1", true); vipps.ErrorCode(err) != "6060" {
		t.Fatalf("cancelTransactionOnly after authorization: %v", err)
	}
	m, err = e.client.CancelPayment(ctx, "ref-sm-000001", "x2", false)
	if err != nil || m.Aggregate.CancelledAmount.Value != 29900 {
		t.Fatalf("cancel rest: %+v %v", m, err)
	}
	if _, err := e.client.CapturePayment(ctx, "ref-sm-000001", "c3", vipps.Amount{Currency: "NOK", Value: 1}); vipps.ErrorCode(err) != "6070" {
		t.Fatalf("capture after cancel: %v", err)
	}
	m, err = e.client.RefundPayment(ctx, "ref-sm-000001", "r2", vipps.Amount{Currency: "NOK", Value: 5000})
	if err != nil || m.Aggregate.RefundedAmount.Value != 5000 {
		t.Fatalf("refund: %+v %v", m, err)
	}
	events, err := e.client.GetPaymentEvents(ctx, "ref-sm-000001")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ev := range events {
		names = append(names, string(ev.Name))
	}
	if strings.Join(names, ",") != "CREATED,AUTHORIZED,CAPTURED,CANCELLED,REFUNDED" {
		t.Fatalf("events %v", names)
	}
	if events[2].IdempotencyKey != "c1" || events[2].Amount.Value != 20000 || events[0].PSPReference == events[2].PSPReference {
		t.Fatalf("capture event %+v", events[2])
	}

	// terminate before approval
	create("ref-sm-000002")
	m, err = e.client.CancelPayment(ctx, "ref-sm-000002", "t1", false)
	if err != nil || m.State != vipps.StateTerminated || m.Aggregate.CancelledAmount.Value != 49900 {
		t.Fatalf("terminate: %+v %v", m, err)
	}
	if _, err := e.client.CancelPayment(ctx, "ref-sm-000002", "t2", false); vipps.ErrorCode(err) != "6190" {
		t.Fatalf("cancel terminated: %v", err)
	}

	// reject
	create("ref-sm-000003")
	if err := e.sim.Reject("ref-sm-000003"); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.Approve("ref-sm-000003"); err == nil {
		t.Fatal("approved an aborted payment")
	}

	// expiry by the clock
	create("ref-sm-000004")
	e.clock.Advance(9 * time.Minute)
	if p, _ := e.client.GetPayment(ctx, "ref-sm-000004"); p.State != vipps.StateCreated {
		t.Fatalf("expired too early: %s", p.State)
	}
	e.clock.Advance(2 * time.Minute)
	if p, _ := e.client.GetPayment(ctx, "ref-sm-000004"); p.State != vipps.StateExpired {
		t.Fatalf("not expired after 11 minutes: %s", p.State)
	}

	// capture deadline: 180 days for NOK
	create("ref-sm-000005")
	if err := e.sim.Approve("ref-sm-000005"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(181 * 24 * time.Hour)
	if _, err := e.client.CapturePayment(ctx, "ref-sm-000005", "late", vipps.Amount{Currency: "NOK", Value: 100}); vipps.ErrorCode(err) != "6100" {
		t.Fatalf("capture after the deadline: %v", err)
	}
	if _, err := e.client.GetPayment(ctx, "ref-nope-000001"); !vipps.IsNotFound(err) || vipps.ErrorCode(err) != "5090" {
		t.Fatalf("unknown reference: %v", err)
	}
}

func TestLandingPage(t *testing.T) {
	e := newEnv(t)
	resp, err := e.client.CreatePayment(context.Background(), "k", validCreate("ref-landing-001"))
	if err != nil {
		t.Fatal(err)
	}
	page, err := http.Get(resp.RedirectURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(body), "499.00 NOK") || !strings.Contains(string(body), "One pair of socks") || !strings.Contains(string(body), `id="approve"`) {
		t.Fatalf("landing page:\n%s", body)
	}
	token := resp.RedirectURL[strings.Index(resp.RedirectURL, "token=")+6:]
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := noFollow.PostForm(e.srv.URL+"/landing/approve", map[string][]string{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "https://shop.example/return?reference=ref-landing-001" {
		t.Fatalf("approve: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	if p, _ := e.sim.Payment("ref-landing-001"); p.State != vipps.StateAuthorized {
		t.Fatalf("state %s", p.State)
	}
	r, _ = http.Get(e.srv.URL + "/landing?token=bogus")
	r.Body.Close()
	if r.StatusCode != 404 {
		t.Fatalf("bogus token: %d", r.StatusCode)
	}
}

type receiver struct {
	mu     sync.Mutex
	srv    *httptest.Server
	secret string
	fail   int
	got    []vipps.WebhookEvent
	errs   []error
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if err := vipps.VerifyWebhook(rc.secret, r, body); err != nil {
			rc.errs = append(rc.errs, err)
			w.WriteHeader(401)
			return
		}
		if rc.fail > 0 {
			rc.fail--
			w.WriteHeader(500)
			return
		}
		ev, err := vipps.ParseWebhookEvent(body)
		if err != nil {
			rc.errs = append(rc.errs, err)
			w.WriteHeader(400)
			return
		}
		rc.got = append(rc.got, *ev)
		w.WriteHeader(200)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) names() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, e := range rc.got {
		out = append(out, string(e.Name))
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWebhooksSignedRetriedInOrder(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rc := newReceiver(t)
	reg, err := e.client.RegisterWebhook(ctx, rc.srv.URL+"/hook?x=1", vipps.AllPaymentEventTypes)
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.secret = reg.Secret
	rc.fail = 2 // the first two deliveries fail: the later events must wait
	rc.mu.Unlock()
	hooks, err := e.client.ListWebhooks(ctx)
	if err != nil || len(hooks) != 1 || hooks[0].ID != reg.ID {
		t.Fatalf("list: %+v %v", hooks, err)
	}
	if _, err := e.client.CreatePayment(ctx, "k", validCreate("ref-hook-00001")); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.Approve("ref-hook-00001"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CapturePayment(ctx, "ref-hook-00001", "c", vipps.Amount{Currency: "NOK", Value: 49900}); err != nil {
		t.Fatal(err)
	}
	// Retries are 2s apart on the simulator's clock: move it along.
	waitFor(t, "three deliveries", func() bool {
		e.clock.Advance(3 * time.Second)
		return len(rc.names()) >= 3
	})
	if got := strings.Join(rc.names(), ","); got != "CREATED,AUTHORIZED,CAPTURED" {
		t.Fatalf("delivered %s", got)
	}
	rc.mu.Lock()
	if len(rc.errs) != 0 {
		t.Fatalf("verification errors: %v", rc.errs)
	}
	if rc.got[1].MSN != "123456" || rc.got[1].Amount.Value != 49900 || !rc.got[1].Success {
		t.Fatalf("payload %+v", rc.got[1])
	}
	rc.mu.Unlock()
	failed := 0
	for _, d := range e.sim.Deliveries() {
		if d.Outcome == "failed" {
			failed++
		}
	}
	if failed != 2 {
		t.Fatalf("%d failed attempts recorded, want 2", failed)
	}
	if err := e.client.DeleteWebhook(ctx, reg.ID); err != nil {
		t.Fatal(err)
	}
	if hooks, _ := e.client.ListWebhooks(ctx); len(hooks) != 0 {
		t.Fatalf("after delete: %+v", hooks)
	}
}

func TestWebhookFaults(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rc := newReceiver(t)
	reg, err := e.client.RegisterWebhook(ctx, rc.srv.URL, []string{vipps.EventCreated.WebhookEventType(), vipps.EventAuthorized.WebhookEventType()})
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.secret = reg.Secret
	rc.mu.Unlock()
	e.sim.InjectWebhookFault(sim.WebhookFault{Mode: "drop", Budget: sim.Budget{Count: 1}})
	e.sim.InjectWebhookFault(sim.WebhookFault{Mode: "duplicate", Budget: sim.Budget{Count: 1}})
	if _, err := e.client.CreatePayment(ctx, "k", validCreate("ref-hookf-0001")); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.Approve("ref-hookf-0001"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the duplicated event", func() bool { return len(rc.names()) >= 2 })
	if got := strings.Join(rc.names(), ","); got != "AUTHORIZED,AUTHORIZED" {
		t.Fatalf("delivered %s, want the dropped CREATED missing and AUTHORIZED twice", got)
	}
}

func TestOrderManagement(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rate := 2500
	receipt := vipps.Receipt{
		OrderLines: []vipps.OrderLine{{Name: "Socks", ID: "socks", TotalAmount: 14900, TotalAmountExcludingTax: 11920, TotalTaxAmount: 2980, TaxRate: &rate}},
		BottomLine: vipps.BottomLine{Currency: "NOK", ReceiptNumber: "ref-om-000001"},
	}
	if err := e.client.AddReceipt(ctx, "ecom", "ref-om-000001", receipt); err != nil {
		t.Fatal(err)
	}
	if err := e.client.AddReceipt(ctx, "ECOM", "ref-om-000001", receipt); !vipps.IsConflict(err) {
		t.Fatalf("second receipt: %v", err)
	}
	bad := receipt
	bad.OrderLines = nil
	if err := e.client.AddReceipt(ctx, "ECOM", "ref-om-000002", bad); vipps.StatusCode(err) != 400 {
		t.Fatalf("receipt without lines: %v", err)
	}
	for _, u := range []string{"https://shop.example/track/1", "https://shop.example/track/2"} {
		if err := e.client.PutCategory(ctx, "ECOM", "ref-om-000001", vipps.Category{Category: vipps.CategoryDelivery, OrderDetailsURL: u}); err != nil {
			t.Fatal(err)
		}
	}
	o, err := e.client.GetOrder(ctx, "ECOM", "ref-om-000001")
	if err != nil || o.Receipt == nil || o.Category == nil || o.Category.OrderDetailsURL != "https://shop.example/track/2" || len(o.Receipt.OrderLines) != 1 {
		t.Fatalf("order: %+v %v", o, err)
	}
	if _, err := e.client.GetOrder(ctx, "ECOM", "ref-om-404404"); !vipps.IsNotFound(err) {
		t.Fatalf("missing order: %v", err)
	}
	if n := len(e.sim.Receipts()); n != 1 {
		t.Fatalf("%d receipts", n)
	}
}

func TestTokenExpiry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.client.CreatePayment(ctx, "k", validCreate("ref-token-00001")); err != nil {
		t.Fatal(err)
	}
	// The simulator's tokens expire by its clock; the client notices the
	// 401 and fetches a new one.
	e.clock.Advance(2 * time.Hour)
	if _, err := e.client.GetPayment(ctx, "ref-token-00001"); err != nil {
		var ve *vipps.Error
		errors.As(err, &ve)
		t.Fatalf("after token expiry: %v", err)
	}
}
