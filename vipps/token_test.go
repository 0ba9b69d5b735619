package vipps

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func paymentAPI(w http.ResponseWriter, r *http.Request, s seen) {
	writeJSON(w, http.StatusOK, testPayment("order-1234"))
}

func TestTokenIsCachedAndSent(t *testing.T) {
	f := newFake(t, paymentAPI)
	c, _ := newTestClient(t, f, nil)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if _, err := c.GetPayment(ctx, "order-1234"); err != nil {
			t.Fatalf("GetPayment: %v", err)
		}
	}
	if n := f.tokenCalls.Load(); n != 1 {
		t.Fatalf("token calls = %d, want 1", n)
	}
	for _, r := range f.requests() {
		if got := r.Header.Get("Authorization"); got != "Bearer tok-1" {
			t.Errorf("Authorization = %q, want Bearer tok-1", got)
		}
	}
}

func TestTokenCallHeaders(t *testing.T) {
	f := newFake(t, nil)
	c, _ := newTestClient(t, f, nil)
	tok, err := c.Token(context.Background())
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if tok != "tok-1" {
		t.Fatalf("token = %q", tok)
	}
	reqs := f.tokenRequests()
	if len(reqs) != 1 {
		t.Fatalf("token requests = %d", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/accesstoken/get" {
		t.Errorf("token call = %s %s", r.Method, r.Path)
	}
	want := map[string]string{
		"client_id":                   testClientID,
		"client_secret":               testClientSecret,
		"Ocp-Apim-Subscription-Key":   testSubKey,
		"Merchant-Serial-Number":      testMSN,
		"Vipps-System-Name":           "caddy",
		"Vipps-System-Version":        "2.11.9",
		"Vipps-System-Plugin-Name":    "caddy-vipps",
		"Vipps-System-Plugin-Version": "1.0.0",
	}
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if r.Header.Get("Authorization") != "" {
		t.Error("token call must not carry Authorization")
	}
	if len(r.Body) != 0 || r.Header.Get("Content-Length") != "0" {
		t.Errorf("token call body = %q, Content-Length %q; want empty, 0", r.Body, r.Header.Get("Content-Length"))
	}
}

func TestTokenRefreshedNearExpiry(t *testing.T) {
	for _, tc := range []struct {
		name      string
		expiresIn string
		stillOK   time.Duration // age at which the first token is still used
		refreshed time.Duration // age at which a new one must be fetched
	}{
		// One hour: renew 5 minutes before expiry.
		{"hour", "3600", 54*time.Minute + 59*time.Second, 55*time.Minute + time.Second},
		// One minute: renew when 10 % (6 s) is left.
		{"minute", "60", 53 * time.Second, 55 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newClock()
			f := newFake(t, nil)
			f.tokenBody = func(n int) any {
				return map[string]string{"token_type": "Bearer", "expires_in": tc.expiresIn, "access_token": "tok-" + string(rune('0'+n))}
			}
			c, _ := newTestClient(t, f, func(cfg *Config) { cfg.Now = clock.Now })
			ctx := context.Background()
			if tok, err := c.Token(ctx); err != nil || tok != "tok-1" {
				t.Fatalf("Token = %q, %v", tok, err)
			}
			clock.Advance(tc.stillOK)
			if tok, err := c.Token(ctx); err != nil || tok != "tok-1" {
				t.Fatalf("after %v: Token = %q, %v; want cached tok-1", tc.stillOK, tok, err)
			}
			clock.Advance(tc.refreshed - tc.stillOK)
			if tok, err := c.Token(ctx); err != nil || tok != "tok-2" {
				t.Fatalf("after %v: Token = %q, %v; want new tok-2", tc.refreshed, tok, err)
			}
			if n := f.tokenCalls.Load(); n != 2 {
				t.Fatalf("token calls = %d, want 2", n)
			}
		})
	}
}

func TestTokenExpiryFormats(t *testing.T) {
	clock := newClock()
	nowUnix := clock.Now().Unix()
	for _, tc := range []struct {
		name string
		body map[string]any
		want time.Duration
	}{
		{"string expires_in", map[string]any{"expires_in": "3599"}, 3599 * time.Second},
		{"number expires_in", map[string]any{"expires_in": 86398}, 86398 * time.Second},
		{"string expires_on only", map[string]any{"expires_in": "", "expires_on": strconv.FormatInt(nowUnix+1800, 10)}, 1800 * time.Second},
		{"number expires_on only", map[string]any{"expires_on": nowUnix + 900}, 900 * time.Second},
		{"neither", map[string]any{}, tokenDefaultLifetime},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, nil)
			f.tokenBody = func(int) any {
				b := map[string]any{"token_type": "Bearer", "access_token": "tok"}
				for k, v := range tc.body {
					b[k] = v
				}
				return b
			}
			c, _ := newTestClient(t, f, func(cfg *Config) { cfg.Now = clock.Now })
			if _, err := c.Token(context.Background()); err != nil {
				t.Fatalf("Token: %v", err)
			}
			c.mu.Lock()
			got := c.token.expires.Sub(c.token.obtained)
			c.mu.Unlock()
			if got != tc.want {
				t.Fatalf("lifetime = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTokenRejectsBadAnswers(t *testing.T) {
	for _, tc := range []struct {
		name string
		body any
	}{
		{"no access_token", map[string]any{"token_type": "Bearer", "expires_in": "3600"}},
		{"expires_in not a number", map[string]any{"access_token": "x", "expires_in": "soon"}},
		{"wrong type", map[string]any{"access_token": "x", "token_type": "MAC"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, nil)
			f.tokenBody = func(int) any { return tc.body }
			c, _ := newTestClient(t, f, nil)
			if tok, err := c.Token(context.Background()); err == nil {
				t.Fatalf("Token = %q, want error", tok)
			}
		})
	}
}

func TestTokenConcurrentCallersShareOneFetch(t *testing.T) {
	f := newFake(t, paymentAPI)
	f.tokenGate = make(chan struct{})
	f.tokenStarted = make(chan struct{}, 100)
	c, _ := newTestClient(t, f, nil)

	const callers = 50
	var started, done sync.WaitGroup
	errs := make(chan error, callers)
	started.Add(callers)
	done.Add(callers)
	for i := 0; i < callers; i++ {
		go func() {
			defer done.Done()
			started.Done()
			_, err := c.GetPayment(context.Background(), "order-1234")
			errs <- err
		}()
	}
	started.Wait()
	// Hold the one token call open until it has certainly begun, so the
	// callers pile up behind it.
	select {
	case <-f.tokenStarted:
	case <-time.After(10 * time.Second):
		t.Fatal("no token call")
	}
	close(f.tokenGate)
	done.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("GetPayment: %v", err)
		}
	}
	if n := f.tokenCalls.Load(); n != 1 {
		t.Fatalf("token calls = %d, want 1", n)
	}
	if n := f.apiCalls.Load(); n != callers {
		t.Fatalf("api calls = %d, want %d", n, callers)
	}
}

func TestTokenWaitEndsWithCallerContext(t *testing.T) {
	f := newFake(t, nil)
	f.tokenGate = make(chan struct{})
	f.tokenStarted = make(chan struct{}, 10)
	t.Cleanup(func() { close(f.tokenGate) })
	c, _ := newTestClient(t, f, nil)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Token(ctx)
		errc <- err
	}()
	<-f.tokenStarted
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Token did not return after cancel")
	}
}

func TestUnauthorizedRefetchesTokenOnce(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		if s.Token == "tok-1" {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"statusCode": 401, "message": "Something went wrong, please try again later"})
			return
		}
		writeJSON(w, http.StatusOK, testPayment("order-1234"))
	})
	c, rec := newTestClient(t, f, nil)
	p, err := c.GetPayment(context.Background(), "order-1234")
	if err != nil {
		t.Fatalf("GetPayment: %v", err)
	}
	if p.Reference != "order-1234" {
		t.Fatalf("reference = %q", p.Reference)
	}
	if n := f.tokenCalls.Load(); n != 2 {
		t.Fatalf("token calls = %d, want 2", n)
	}
	reqs := f.requests()
	if len(reqs) != 2 || reqs[0].Token != "tok-1" || reqs[1].Token != "tok-2" {
		t.Fatalf("requests = %+v", reqs)
	}
	if len(rec.recorded()) != 0 {
		t.Fatalf("a 401 refetch must not back off: %v", rec.recorded())
	}
}

func TestUnauthorizedTwiceIsReturned(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{
			"statusCode": 401,
			"message":    "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.",
		})
	})
	c, _ := newTestClient(t, f, nil)
	_, err := c.GetPayment(context.Background(), "order-1234")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *Error", err)
	}
	if e.StatusCode != 401 || !strings.HasPrefix(e.Message, "Access denied due to invalid subscription key") {
		t.Fatalf("error = %+v", e)
	}
	if n := f.tokenCalls.Load(); n != 2 {
		t.Fatalf("token calls = %d, want 2", n)
	}
	if n := f.apiCalls.Load(); n != 2 {
		t.Fatalf("api calls = %d, want 2", n)
	}
	if IsTransient(err) {
		t.Fatal("401 must not be transient")
	}
}

func TestTokenErrorBodyDecodedAndRedacted(t *testing.T) {
	f := newFake(t, nil)
	c, _ := newTestClient(t, f, nil)
	f.tokenBody = nil
	// Replace the token endpoint's answer with the Azure AD error body.
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.tokenCalls.Add(1)
		writeJSON(w, http.StatusUnauthorized, map[string]any{
			"error":             "unauthorized_client",
			"error_description": "AADSTS700016: Application with identifier '" + testClientID + "' was not found in the directory.",
			"error_codes":       []int{700016},
			"trace_id":          "aad-trace-1",
		})
	})
	_, err := c.Token(context.Background())
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *Error", err)
	}
	if e.StatusCode != 401 || e.AuthError != "unauthorized_client" || e.TraceID != "aad-trace-1" {
		t.Fatalf("error = %+v", e)
	}
	if !strings.HasPrefix(e.AuthErrorDescription, "AADSTS700016") {
		t.Fatalf("description = %q", e.AuthErrorDescription)
	}
	for _, secret := range []string{testClientID, testClientSecret, testSubKey} {
		if strings.Contains(err.Error(), secret) || strings.Contains(e.AuthErrorDescription, secret) {
			t.Fatalf("error leaks a credential: %q / %q", err.Error(), e.AuthErrorDescription)
		}
	}
	if n := f.tokenCalls.Load(); n != 1 {
		t.Fatalf("token calls = %d; a 401 on the token call must not be retried", n)
	}
}
