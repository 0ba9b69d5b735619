package vipps

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func createRequest(ref string) CreatePaymentRequest {
	return CreatePaymentRequest{
		Amount:             Amount{Currency: NOK, Value: 49900},
		PaymentMethod:      PaymentMethod{Type: PaymentMethodWallet},
		Reference:          ref,
		UserFlow:           UserFlowWebRedirect,
		ReturnURL:          "https://shop.example/return?order=1",
		PaymentDescription: "Order 1",
	}
}

func createdAnswer(w http.ResponseWriter, ref string) {
	writeJSON(w, http.StatusCreated, CreatePaymentResponse{RedirectURL: "https://landing.example/?token=abc", Reference: ref})
}

func TestRetry503ThenCreatedKeepsKeyAndBody(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		if s.Attempt == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		createdAnswer(w, "order-1234")
	})
	c, rec := newTestClient(t, f, nil)
	resp, err := c.CreatePayment(context.Background(), "key-1", createRequest("order-1234"))
	if err != nil {
		t.Fatalf("CreatePayment: %v", err)
	}
	if resp.Reference != "order-1234" || resp.RedirectURL == "" {
		t.Fatalf("response = %+v", resp)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("requests = %d, want 2", len(reqs))
	}
	for i, r := range reqs {
		if got := r.Header.Get("Idempotency-Key"); got != "key-1" {
			t.Errorf("attempt %d Idempotency-Key = %q", i+1, got)
		}
	}
	if !bytes.Equal(reqs[0].Body, reqs[1].Body) || len(reqs[0].Body) == 0 {
		t.Fatalf("bodies differ:\n%s\n%s", reqs[0].Body, reqs[1].Body)
	}
	if len(rec.recorded()) != 1 {
		t.Fatalf("backoff waits = %v, want 1", rec.recorded())
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	clock := newClock()
	for _, tc := range []struct {
		name  string
		value string
		want  time.Duration
	}{
		{"seconds", "2", 2 * time.Second},
		{"http date", clock.Now().Add(3 * time.Second).Format(http.TimeFormat), 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
				if s.Attempt == 1 {
					w.Header().Set("Retry-After", tc.value)
					writeJSON(w, http.StatusTooManyRequests, map[string]any{"statusCode": 429, "message": "Rate limit is exceeded."})
					return
				}
				writeJSON(w, http.StatusOK, testPayment("order-1234"))
			})
			c, rec := newTestClient(t, f, func(cfg *Config) {
				cfg.Now = clock.Now
				cfg.RetryMaxDelay = time.Minute
			})
			if _, err := c.GetPayment(context.Background(), "order-1234"); err != nil {
				t.Fatalf("GetPayment: %v", err)
			}
			if waits := rec.recorded(); len(waits) != 1 || waits[0] != tc.want {
				t.Fatalf("waits = %v, want [%v]", waits, tc.want)
			}
		})
	}
}

func TestRetryAfterBeyondDeadlineGivesUpAtOnce(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	c, rec := newTestClient(t, f, func(cfg *Config) { cfg.RetryMaxDelay = time.Minute })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.GetPayment(ctx, "order-1234")
	var e *Error
	if !errors.As(err, &e) || e.StatusCode != 429 || e.RetryAfter != 30*time.Second {
		t.Fatalf("err = %v, want *Error 429 with RetryAfter 30s", err)
	}
	if n := f.apiCalls.Load(); n != 1 || len(rec.recorded()) != 0 {
		t.Fatalf("calls = %d, waits = %v; want 1 call and no wait", n, rec.recorded())
	}
	if !IsTransient(err) {
		t.Fatal("429 must be transient")
	}
}

func TestProblemIsNotRetriedAndDecodes(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		writeProblem(w, http.StatusBadRequest, "Cannot capture before reservation", "6080", "00-813b63975adcaaeef2b0ec7c103c40e3-706492e906541d31-01")
	})
	c, rec := newTestClient(t, f, nil)
	_, err := c.CapturePayment(context.Background(), "order-1234", "cap-1", Amount{Currency: NOK, Value: 100})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *Error", err)
	}
	if e.StatusCode != 400 || e.ErrorCode != "6080" || e.TraceID != "00-813b63975adcaaeef2b0ec7c103c40e3-706492e906541d31-01" ||
		e.Title != "Cannot capture before reservation" || e.Type != "https://httpstatuses.io/400" ||
		e.Instance != "/v1/payments/x" || e.Operation != "capture payment" {
		t.Fatalf("error = %+v", e)
	}
	if StatusCode(err) != 400 || ErrorCode(err) != "6080" || IsTransient(err) || IsConflict(err) || IsNotFound(err) {
		t.Fatal("helpers disagree with the error")
	}
	msg := err.Error()
	for _, want := range []string{"capture payment", "400", "6080", "00-813b63975adcaaeef2b0ec7c103c40e3"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Error() = %q lacks %q", msg, want)
		}
	}
	if n := f.apiCalls.Load(); n != 1 || len(rec.recorded()) != 0 {
		t.Fatalf("calls = %d, waits = %v; a 400 must not be retried", n, rec.recorded())
	}
}

func TestNonRetriedClientErrors(t *testing.T) {
	for _, status := range []int{400, 403, 404, 409, 422} {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
			writeProblem(w, status, http.StatusText(status), "", "trace")
		})
		c, _ := newTestClient(t, f, nil)
		_, err := c.RefundPayment(context.Background(), "order-1234", "ref-1", Amount{Currency: NOK, Value: 1})
		if StatusCode(err) != status {
			t.Fatalf("status %d: err = %v", status, err)
		}
		if n := f.apiCalls.Load(); n != 1 {
			t.Fatalf("status %d: calls = %d, want 1", status, n)
		}
	}
}

func TestTransientStatusesAreRetriedUpToMax(t *testing.T) {
	for _, status := range []int{423, 429, 500, 502, 503, 504} {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(status)
			_, _ = w.Write([]byte("<html>busy</html>"))
		})
		c, rec := newTestClient(t, f, func(cfg *Config) { cfg.MaxRetries = 2 })
		_, err := c.GetPaymentEvents(context.Background(), "order-1234")
		if StatusCode(err) != status || !IsTransient(err) {
			t.Fatalf("status %d: err = %v", status, err)
		}
		if n := f.apiCalls.Load(); n != 3 {
			t.Fatalf("status %d: calls = %d, want 3", status, n)
		}
		if len(rec.recorded()) != 2 {
			t.Fatalf("status %d: waits = %v", status, rec.recorded())
		}
	}
}

func TestBackoffGrowsWithFullJitter(t *testing.T) {
	f := newFake(t, nil)
	c, _ := newTestClient(t, f, func(cfg *Config) {
		cfg.RetryBaseDelay = 100 * time.Millisecond
		cfg.RetryMaxDelay = 400 * time.Millisecond
	})
	transient := &Error{StatusCode: 503}
	for attempt, ceiling := range []time.Duration{100, 200, 400, 400, 400} {
		ceiling *= time.Millisecond
		var maxSeen time.Duration
		for i := 0; i < 200; i++ {
			d := c.backoff(attempt, transient)
			if d < 0 || d > ceiling {
				t.Fatalf("attempt %d: wait %v outside [0, %v]", attempt, d, ceiling)
			}
			maxSeen = max(maxSeen, d)
		}
		if maxSeen <= ceiling/4 {
			t.Fatalf("attempt %d: waits never exceeded %v of ceiling %v: no jitter spread", attempt, maxSeen, ceiling)
		}
	}
}

func TestNegativeMaxRetriesDisablesRetries(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) { w.WriteHeader(http.StatusBadGateway) })
	c, _ := newTestClient(t, f, func(cfg *Config) { cfg.MaxRetries = -1 })
	if _, err := c.GetPayment(context.Background(), "order-1234"); StatusCode(err) != 502 {
		t.Fatalf("err = %v", err)
	}
	if n := f.apiCalls.Load(); n != 1 {
		t.Fatalf("calls = %d, want 1", n)
	}
}

func TestContextCancellationStopsRetrying(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		if s.Attempt == 2 {
			cancel()
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	c, _ := newTestClient(t, f, func(cfg *Config) {
		cfg.MaxRetries = 1000
		cfg.RetryBaseDelay = time.Millisecond
		cfg.RetryMaxDelay = 2 * time.Millisecond
	})
	c.sleep = sleepContext // real waits
	_, err := c.CapturePayment(ctx, "order-1234", "cap-1", Amount{Currency: NOK, Value: 100})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if IsTransient(err) {
		t.Fatal("a cancelled call must not be reported as transient")
	}
	if n := f.apiCalls.Load(); n != 2 {
		t.Fatalf("calls = %d, want 2", n)
	}
}

// hijackOnce answers the first API request by sending part of a response
// and closing the connection.
func hijackOnce(t *testing.T, partial string, then func(w http.ResponseWriter, s seen)) func(http.ResponseWriter, *http.Request, seen) {
	var dropped atomic.Bool
	return func(w http.ResponseWriter, r *http.Request, s seen) {
		if dropped.CompareAndSwap(false, true) {
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			_, _ = buf.WriteString(partial)
			_ = buf.Flush()
			_ = conn.Close()
			return
		}
		then(w, s)
	}
}

func TestDroppedConnectionIsRetriedWithSameKey(t *testing.T) {
	for _, tc := range []struct {
		name    string
		partial string
	}{
		{"mid body", "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"reference\":"},
		{"mid headers", "HTTP/1.1 201 Cre"},
		{"nothing", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, nil)
			f.api = hijackOnce(t, tc.partial, func(w http.ResponseWriter, s seen) { createdAnswer(w, "order-1234") })
			c, _ := newTestClient(t, f, nil)
			resp, err := c.CreatePayment(context.Background(), "key-drop", createRequest("order-1234"))
			if err != nil {
				t.Fatalf("CreatePayment: %v", err)
			}
			if resp.Reference != "order-1234" {
				t.Fatalf("response = %+v", resp)
			}
			reqs := f.requests()
			if len(reqs) < 2 {
				t.Fatalf("requests = %d, want at least 2", len(reqs))
			}
			for i, r := range reqs {
				if r.Header.Get("Idempotency-Key") != "key-drop" || !bytes.Equal(r.Body, reqs[0].Body) {
					t.Fatalf("attempt %d: key %q body %s", i+1, r.Header.Get("Idempotency-Key"), r.Body)
				}
			}
		})
	}
}

func TestNetworkErrorIsTransient(t *testing.T) {
	f := newFake(t, nil)
	c, _ := newTestClient(t, f, func(cfg *Config) { cfg.MaxRetries = 1 })
	if _, err := c.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.srv.Close()
	_, err := c.GetPayment(context.Background(), "order-1234")
	if err == nil || !IsTransient(err) || StatusCode(err) != 0 {
		t.Fatalf("err = %v; want a transient error without status", err)
	}
}

func TestUnsafeCallsAreNotReplayedAfterAmbiguousFailure(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) { w.WriteHeader(http.StatusServiceUnavailable) })
	c, _ := newTestClient(t, f, nil)
	_, err := c.RegisterWebhook(context.Background(), "https://shop.example/hook", AllPaymentEventTypes)
	if StatusCode(err) != 503 {
		t.Fatalf("err = %v", err)
	}
	if n := f.apiCalls.Load(); n != 1 {
		t.Fatalf("register calls = %d, want 1 (not replay-safe)", n)
	}

	f2 := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		if s.Attempt == 1 {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		writeJSON(w, http.StatusCreated, RegisterWebhookResponse{ID: "wh-1", Secret: "s"})
	})
	c2, _ := newTestClient(t, f2, nil)
	if _, err := c2.RegisterWebhook(context.Background(), "https://shop.example/hook", AllPaymentEventTypes); err != nil {
		t.Fatalf("after 429: %v", err)
	}
	if n := f2.apiCalls.Load(); n != 2 {
		t.Fatalf("register calls = %d, want 2", n)
	}
}

func TestOversizedResponseIsAnError(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"reference":"`))
		_, _ = w.Write(bytes.Repeat([]byte("a"), 2*maxResponseBody))
		_, _ = w.Write([]byte(`"}`))
	})
	c, _ := newTestClient(t, f, nil)
	_, err := c.GetPayment(context.Background(), "order-1234")
	if err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("err = %v, want size error", err)
	}
	if n := f.apiCalls.Load(); n != 1 {
		t.Fatalf("calls = %d, want 1", n)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":    0,
		"0":   0,
		"-5":  0,
		"abc": 0,
		" 7 ": 7 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}
