package vipps

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testClientID     = "11111111-2222-3333-4444-555555555555"
	testClientSecret = "c2VjcmV0LXZhbHVlLW5vdC1mb3ItbG9ncw=="
	testSubKey       = "0f14ebcab0ec4b29ae0cb90d91b4a84a"
	testMSN          = "123456"
)

// seen is one request as the fake server received it.
type seen struct {
	Method  string
	Path    string // escaped path
	Query   string
	Header  http.Header
	Body    []byte
	Token   string // bearer token, if any
	Attempt int    // 1-based count of API requests so far
}

// fakeVipps is a recording server: it answers the token endpoint itself and
// hands every other request to api.
type fakeVipps struct {
	t   *testing.T
	srv *httptest.Server

	// tokenBody, when set, builds the token answer for token number n.
	tokenBody func(n int) any
	// tokenGate, when set, is waited on before answering a token call.
	tokenGate chan struct{}
	// tokenStarted receives once per token call, when non-nil.
	tokenStarted chan struct{}

	tokenCalls atomic.Int32
	apiCalls   atomic.Int32

	mu     sync.Mutex
	tokens []seen
	reqs   []seen
	api    func(w http.ResponseWriter, r *http.Request, s seen)
}

func newFake(t *testing.T, api func(w http.ResponseWriter, r *http.Request, s seen)) *fakeVipps {
	t.Helper()
	f := &fakeVipps{t: t, api: api}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeVipps) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s := seen{
		Method: r.Method,
		Path:   r.URL.EscapedPath(),
		Query:  r.URL.RawQuery,
		Header: r.Header.Clone(),
		Body:   body,
		Token:  strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "),
	}
	if r.URL.Path == tokenPath {
		n := int(f.tokenCalls.Add(1))
		f.mu.Lock()
		f.tokens = append(f.tokens, s)
		f.mu.Unlock()
		if f.tokenStarted != nil {
			f.tokenStarted <- struct{}{}
		}
		if f.tokenGate != nil {
			<-f.tokenGate
		}
		var answer any = AccessToken{
			TokenType:   "Bearer",
			ExpiresIn:   "3600",
			ExtExpires:  "0",
			ExpiresOn:   "1495271273",
			NotBefore:   "1495184574",
			Resource:    "00000002-0000-0000-c000-000000000000",
			AccessToken: fmt.Sprintf("tok-%d", n),
		}
		if f.tokenBody != nil {
			answer = f.tokenBody(n)
		}
		writeJSON(w, http.StatusOK, answer)
		return
	}
	s.Attempt = int(f.apiCalls.Add(1))
	f.mu.Lock()
	f.reqs = append(f.reqs, s)
	api := f.api
	f.mu.Unlock()
	if api == nil {
		http.NotFound(w, r)
		return
	}
	api(w, r, s)
}

func (f *fakeVipps) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

func (f *fakeVipps) tokenRequests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.tokens...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeProblem(w http.ResponseWriter, status int, title, code, traceID string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	body := map[string]any{
		"type":     fmt.Sprintf("https://httpstatuses.io/%d", status),
		"title":    title,
		"detail":   title + " (detail)",
		"instance": "/v1/payments/x",
		"status":   status,
		"traceId":  traceID,
	}
	if code != "" {
		body["extraDetails"] = []map[string]string{{"name": "ErrorCode", "reason": code}}
	}
	_ = json.NewEncoder(w).Encode(body)
}

// testClock is a settable clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *testClock {
	return &testClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// sleepRecorder replaces the client's backoff wait: it records the
// durations and returns at once (or the context's error).
type sleepRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepRecorder) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// newTestClient builds a client for f with instant backoff. mod may adjust
// the config.
func newTestClient(t *testing.T, f *fakeVipps, mod func(*Config)) (*Client, *sleepRecorder) {
	t.Helper()
	cfg := Config{
		BaseURL:              f.srv.URL,
		ClientID:             testClientID,
		ClientSecret:         testClientSecret,
		SubscriptionKey:      testSubKey,
		MerchantSerialNumber: testMSN,
		SystemName:           "caddy",
		SystemVersion:        "2.11.9",
		PluginName:           "caddy-vipps",
		PluginVersion:        "1.0.0",
		HTTPClient:           f.srv.Client(),
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	rec := &sleepRecorder{}
	c.sleep = rec.sleep
	return c, rec
}

func testPayment(ref string) Payment {
	amt := Amount{Currency: NOK, Value: 49900}
	zero := Amount{Currency: NOK}
	return Payment{
		Aggregate:     Aggregate{AuthorizedAmount: amt, CancelledAmount: zero, CapturedAmount: zero, RefundedAmount: zero},
		Amount:        amt,
		State:         StateAuthorized,
		PaymentMethod: PaymentMethod{Type: PaymentMethodWallet},
		PSPReference:  "37c34d8c-2649-448e-864b-060d5d93e4c4",
		Reference:     ref,
	}
}
