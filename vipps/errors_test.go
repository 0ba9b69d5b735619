package vipps

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestErrorShapesDecode(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		ctype  string
		body   string
		check  func(t *testing.T, e *Error)
	}{
		{
			name: "order management", status: 400, ctype: "application/json",
			body: `{"type":"https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.1","title":"One or more validation errors occurred.","detail":"BadRequest","instance":"00-616e-00","invalidParams":[{"name":"OrderDetailsUrl","reason":"must be https"}]}`,
			check: func(t *testing.T, e *Error) {
				if len(e.InvalidParams) != 1 || e.InvalidParams[0] != (ExtraDetail{Name: "OrderDetailsUrl", Reason: "must be https"}) || e.Detail != "BadRequest" {
					t.Fatalf("error = %+v", e)
				}
				if !strings.Contains(e.Error(), "OrderDetailsUrl: must be https") {
					t.Fatalf("Error() = %q", e.Error())
				}
			},
		},
		{
			name: "webhooks validation", status: 400, ctype: "application/problem+json",
			body: `{"title":"Bad Request","status":400,"detail":"One or more validation errors occurred.","instance":"/v1/webhooks","traceId":"00-abc","extraDetails":[{"name":"url","reason":"The property is required and cannot be null or empty."}]}`,
			check: func(t *testing.T, e *Error) {
				if e.ErrorCode != "" || len(e.ExtraDetails) != 1 || e.ExtraDetails[0].Name != "url" || e.TraceID != "00-abc" {
					t.Fatalf("error = %+v", e)
				}
				if !strings.Contains(e.Error(), "url: The property is required") {
					t.Fatalf("Error() = %q", e.Error())
				}
			},
		},
		{
			name: "gateway 401", status: 401, ctype: "application/json",
			body: `{"statusCode": 401, "message": "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."}`,
			check: func(t *testing.T, e *Error) {
				if !strings.HasPrefix(e.Message, "Access denied due to missing subscription key") {
					t.Fatalf("error = %+v", e)
				}
				if !strings.Contains(e.Error(), "Access denied") {
					t.Fatalf("Error() = %q", e.Error())
				}
			},
		},
		{
			name: "numeric reason and odd types", status: 409, ctype: "application/problem+json",
			body: `{"type":null,"title":"Reference exists","status":"409","extraDetails":[{"name":"ErrorCode","reason":4150}],"traceId":7}`,
			check: func(t *testing.T, e *Error) {
				if e.ErrorCode != "4150" || e.Title != "Reference exists" || e.TraceID != "7" || !IsConflict(e) {
					t.Fatalf("error = %+v", e)
				}
			},
		},
		{
			name: "html", status: 404, ctype: "text/html",
			body: `<html><body>Not here</body></html>`,
			check: func(t *testing.T, e *Error) {
				if e.StatusCode != 404 || e.Title != "" || !IsNotFound(e) {
					t.Fatalf("error = %+v", e)
				}
				if !strings.Contains(e.Error(), "404") || !strings.Contains(e.Error(), "Not Found") {
					t.Fatalf("Error() = %q", e.Error())
				}
			},
		},
		{
			name: "empty", status: 403, ctype: "",
			body: ``,
			check: func(t *testing.T, e *Error) {
				if e.StatusCode != 403 {
					t.Fatalf("error = %+v", e)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
				if tc.ctype != "" {
					w.Header().Set("Content-Type", tc.ctype)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			})
			c, _ := newTestClient(t, f, func(cfg *Config) { cfg.MaxRetries = -1 })
			err := c.PutCategory(context.Background(), PaymentTypeEcom, "order-1234", Category{Category: CategoryGeneral, OrderDetailsURL: "https://x.example"})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.StatusCode != tc.status || e.Operation != "put category" {
				t.Fatalf("status %d op %q", e.StatusCode, e.Operation)
			}
			if tc.status == 401 {
				// 401 is refetched once; the decoded error is the second.
				if n := f.apiCalls.Load(); n != 2 {
					t.Fatalf("calls = %d", n)
				}
			}
			tc.check(t, e)
		})
	}
}

func TestErrorNeverCarriesCredentials(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		// A server that echoes the credentials back must not make them
		// appear in errors.
		writeProblem(w, 400, "bad key "+testSubKey, "3010", "t-1")
	})
	c, _ := newTestClient(t, f, nil)
	_, err := c.GetPayment(context.Background(), "order-1234")
	if err == nil {
		t.Fatal("want error")
	}
	text := fmt.Sprintf("%v %+v", err, err)
	for _, secret := range []string{testSubKey, testClientSecret, testClientID} {
		if strings.Contains(text, secret) {
			t.Fatalf("error text contains a credential: %s", text)
		}
	}
}

func TestHelpersOnWrappedAndForeignErrors(t *testing.T) {
	e := &Error{StatusCode: 404, ErrorCode: "5090"}
	wrapped := fmt.Errorf("refresh: %w", e)
	if StatusCode(wrapped) != 404 || ErrorCode(wrapped) != "5090" || !IsNotFound(wrapped) {
		t.Fatal("helpers must look through wrapping")
	}
	plain := errors.New("boom")
	if StatusCode(plain) != 0 || ErrorCode(plain) != "" || IsTransient(plain) || IsConflict(plain) || IsTransient(nil) {
		t.Fatal("foreign errors must not classify")
	}
	if !IsTransient(fmt.Errorf("x: %w", &Error{StatusCode: 423})) {
		t.Fatal("423 is transient")
	}
}
