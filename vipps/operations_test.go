package vipps

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// TestOperationsSendTheRightRequests checks method, path, headers and body of
// every API call, and that the answer is decoded.
func TestOperationsSendTheRightRequests(t *testing.T) {
	amount := Amount{Currency: NOK, Value: 1000}
	rate := 2500
	receipt := Receipt{
		OrderLines: []OrderLine{{Name: "Socks", ID: "sku-1", TotalAmount: 1000, TotalAmountExcludingTax: 800, TotalTaxAmount: 200, TaxRate: &rate}},
		BottomLine: BottomLine{Currency: NOK},
	}
	mod := ModificationResponse{
		Amount:       Amount{Currency: NOK, Value: 49900},
		State:        StateAuthorized,
		Aggregate:    Aggregate{AuthorizedAmount: Amount{Currency: NOK, Value: 49900}, CapturedAmount: amount},
		PSPReference: "psp-1",
		Reference:    "order-1234",
	}
	created := json.RawMessage(`"16328cb8-d769-4c53-90ad-e19777823f0a"`)

	type op struct {
		name   string
		call   func(c *Client) (any, error)
		method string
		path   string
		key    string // expected Idempotency-Key ("" = none)
		body   string // expected JSON body ("" = none)
		status int
		answer any
		want   any // expected decoded result (nil for error-only calls)
	}
	ops := []op{
		{
			name: "create payment",
			call: func(c *Client) (any, error) {
				return c.CreatePayment(context.Background(), "ck-1", createRequest("order-1234"))
			},
			method: "POST", path: "/epayment/v1/payments", key: "ck-1",
			body:   `{"amount":{"currency":"NOK","value":49900},"paymentMethod":{"type":"WALLET"},"reference":"order-1234","userFlow":"WEB_REDIRECT","returnUrl":"https://shop.example/return?order=1","paymentDescription":"Order 1"}`,
			status: 201, answer: CreatePaymentResponse{RedirectURL: "https://landing.example/x", Reference: "order-1234"},
			want: &CreatePaymentResponse{RedirectURL: "https://landing.example/x", Reference: "order-1234"},
		},
		{
			name:   "get payment",
			call:   func(c *Client) (any, error) { return c.GetPayment(context.Background(), "order-1234") },
			method: "GET", path: "/epayment/v1/payments/order-1234",
			status: 200, answer: testPayment("order-1234"), want: ptr(testPayment("order-1234")),
		},
		{
			name:   "get payment escapes the reference",
			call:   func(c *Client) (any, error) { return c.GetPayment(context.Background(), "a b/c?d") },
			method: "GET", path: "/epayment/v1/payments/a%20b%2Fc%3Fd",
			status: 200, answer: testPayment("a b/c?d"), want: ptr(testPayment("a b/c?d")),
		},
		{
			name:   "get payment events",
			call:   func(c *Client) (any, error) { return c.GetPaymentEvents(context.Background(), "order-1234") },
			method: "GET", path: "/epayment/v1/payments/order-1234/events",
			status: 200,
			answer: []PaymentEvent{{Reference: "order-1234", PSPReference: "p1", Name: EventCreated, Amount: amount, IdempotencyKey: "ck-1", Success: true}},
			want:   []PaymentEvent{{Reference: "order-1234", PSPReference: "p1", Name: EventCreated, Amount: amount, IdempotencyKey: "ck-1", Success: true}},
		},
		{
			name: "capture",
			call: func(c *Client) (any, error) {
				return c.CapturePayment(context.Background(), "order-1234", "cap-1", amount)
			},
			method: "POST", path: "/epayment/v1/payments/order-1234/capture", key: "cap-1",
			body:   `{"modificationAmount":{"currency":"NOK","value":1000}}`,
			status: 200, answer: mod, want: &mod,
		},
		{
			name: "cancel",
			call: func(c *Client) (any, error) {
				return c.CancelPayment(context.Background(), "order-1234", "can-1", false)
			},
			method: "POST", path: "/epayment/v1/payments/order-1234/cancel", key: "can-1",
			body:   `{"cancelTransactionOnly":false}`,
			status: 200, answer: mod, want: &mod,
		},
		{
			name: "cancel transaction only",
			call: func(c *Client) (any, error) {
				return c.CancelPayment(context.Background(), "order-1234", "can-2", true)
			},
			method: "POST", path: "/epayment/v1/payments/order-1234/cancel", key: "can-2",
			body:   `{"cancelTransactionOnly":true}`,
			status: 200, answer: mod, want: &mod,
		},
		{
			name: "refund",
			call: func(c *Client) (any, error) {
				return c.RefundPayment(context.Background(), "order-1234", "ref-1", amount)
			},
			method: "POST", path: "/epayment/v1/payments/order-1234/refund", key: "ref-1",
			body:   `{"modificationAmount":{"currency":"NOK","value":1000}}`,
			status: 200, answer: mod, want: &mod,
		},
		{
			name: "force approve",
			call: func(c *Client) (any, error) {
				return nil, c.ForceApprove(context.Background(), "order-1234", ForceApproveRequest{Customer: &Customer{PhoneNumber: "4712345678"}})
			},
			method: "POST", path: "/epayment/v1/test/payments/order-1234/approve",
			body:   `{"customer":{"phoneNumber":"4712345678"}}`,
			status: 200,
		},
		{
			name: "add receipt",
			call: func(c *Client) (any, error) {
				return nil, c.AddReceipt(context.Background(), PaymentTypeEcom, "order-1234", receipt)
			},
			method: "POST", path: "/order-management/v2/ECOM/receipts/order-1234",
			body:   `{"orderLines":[{"name":"Socks","id":"sku-1","totalAmount":1000,"totalAmountExcludingTax":800,"totalTaxAmount":200,"taxRate":2500}],"bottomLine":{"currency":"NOK"}}`,
			status: 201, answer: created,
		},
		{
			name: "put category",
			call: func(c *Client) (any, error) {
				return nil, c.PutCategory(context.Background(), "ecom", "order-1234", Category{Category: CategoryOrderConfirmation, OrderDetailsURL: "https://shop.example/orders/1"})
			},
			method: "PUT", path: "/order-management/v2/ECOM/categories/order-1234",
			body:   `{"category":"ORDER_CONFIRMATION","orderDetailsUrl":"https://shop.example/orders/1"}`,
			status: 200, answer: created,
		},
		{
			name: "upload image",
			call: func(c *Client) (any, error) {
				return nil, c.UploadImage(context.Background(), "socks-orange-123", []byte("\x89PNG"))
			},
			method: "POST", path: "/order-management/v1/images",
			body:   `{"imageId":"socks-orange-123","src":"iVBORw==","type":"base64"}`,
			status: 200, answer: map[string]string{"imageId": "socks-orange-123"},
		},
		{
			name:   "get order",
			call:   func(c *Client) (any, error) { return c.GetOrder(context.Background(), PaymentTypeEcom, "order-1234") },
			method: "GET", path: "/order-management/v2/ECOM/order-1234",
			status: 200,
			answer: OrderWithCategoryAndReceipt{Category: &Category{Category: CategoryGeneral, OrderDetailsURL: "https://x.example"}, Receipt: &receipt},
			want:   &OrderWithCategoryAndReceipt{Category: &Category{Category: CategoryGeneral, OrderDetailsURL: "https://x.example"}, Receipt: &receipt},
		},
		{
			name: "register webhook",
			call: func(c *Client) (any, error) {
				return c.RegisterWebhook(context.Background(), "https://shop.example/hook?x=1", []string{"epayments.payment.authorized.v1"})
			},
			method: "POST", path: "/webhooks/v1/webhooks",
			body:   `{"url":"https://shop.example/hook?x=1","events":["epayments.payment.authorized.v1"]}`,
			status: 201, answer: RegisterWebhookResponse{ID: "wh-1", Secret: "sec"}, want: &RegisterWebhookResponse{ID: "wh-1", Secret: "sec"},
		},
		{
			name:   "list webhooks",
			call:   func(c *Client) (any, error) { return c.ListWebhooks(context.Background()) },
			method: "GET", path: "/webhooks/v1/webhooks",
			status: 200,
			answer: WebhookList{Webhooks: []Webhook{{ID: "wh-1", URL: "https://shop.example/hook", Events: AllPaymentEventTypes}}},
			want:   []Webhook{{ID: "wh-1", URL: "https://shop.example/hook", Events: AllPaymentEventTypes}},
		},
		{
			name:   "delete webhook",
			call:   func(c *Client) (any, error) { return nil, c.DeleteWebhook(context.Background(), "wh-1") },
			method: "DELETE", path: "/webhooks/v1/webhooks/wh-1",
			status: 204,
		},
	}
	for _, tc := range ops {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
				if tc.answer == nil {
					w.WriteHeader(tc.status)
					return
				}
				writeJSON(w, tc.status, tc.answer)
			})
			c, _ := newTestClient(t, f, func(cfg *Config) {
				cfg.SystemName = strings.Repeat("s", 40)
			})
			got, err := tc.call(c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("requests = %d, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != tc.method || r.Path != tc.path {
				t.Fatalf("request = %s %s, want %s %s", r.Method, r.Path, tc.method, tc.path)
			}
			wantHeaders := map[string]string{
				"Authorization":               "Bearer tok-1",
				"Ocp-Apim-Subscription-Key":   testSubKey,
				"Merchant-Serial-Number":      testMSN,
				"Vipps-System-Name":           strings.Repeat("s", 30),
				"Vipps-System-Version":        "2.11.9",
				"Vipps-System-Plugin-Name":    "caddy-vipps",
				"Vipps-System-Plugin-Version": "1.0.0",
				"Idempotency-Key":             tc.key,
			}
			for k, v := range wantHeaders {
				if got := r.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if r.Header.Get("User-Agent") == "" || strings.HasPrefix(r.Header.Get("User-Agent"), "Go-http-client") {
				t.Errorf("User-Agent = %q", r.Header.Get("User-Agent"))
			}
			if r.Header.Get("client_id") != "" || r.Header.Get("client_secret") != "" {
				t.Error("credentials sent outside the token call")
			}
			if tc.body == "" {
				if len(r.Body) != 0 {
					t.Errorf("body = %s, want none", r.Body)
				}
			} else {
				if ct := r.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
				if string(r.Body) != tc.body {
					t.Errorf("body =\n%s\nwant\n%s", r.Body, tc.body)
				}
			}
			if tc.want != nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("result = %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestCallerErrorsSendNothing(t *testing.T) {
	f := newFake(t, paymentAPI)
	c, _ := newTestClient(t, f, nil)
	ctx := context.Background()
	amt := Amount{Currency: NOK, Value: 100}
	long := strings.Repeat("k", 51)
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"create without key", second(c.CreatePayment(ctx, "", createRequest("order-1234"))), ErrMissingIdempotencyKey},
		{"capture without key", second(c.CapturePayment(ctx, "order-1234", "", amt)), ErrMissingIdempotencyKey},
		{"cancel without key", second(c.CancelPayment(ctx, "order-1234", "", false)), ErrMissingIdempotencyKey},
		{"refund without key", second(c.RefundPayment(ctx, "order-1234", "", amt)), ErrMissingIdempotencyKey},
		{"key too long", second(c.CapturePayment(ctx, "order-1234", long, amt)), ErrInvalidIdempotencyKey},
		{"create without reference", second(c.CreatePayment(ctx, "k", createRequest(""))), ErrInvalidArgument},
		{"get empty reference", second(c.GetPayment(ctx, "")), ErrInvalidArgument},
		{"get dot-dot reference", second(c.GetPayment(ctx, "..")), ErrInvalidArgument},
		{"events empty reference", second(c.GetPaymentEvents(ctx, "")), ErrInvalidArgument},
		{"capture empty reference", second(c.CapturePayment(ctx, "", "k", amt)), ErrInvalidArgument},
		{"force approve empty reference", c.ForceApprove(ctx, "", ForceApproveRequest{}), ErrInvalidArgument},
		{"receipt empty order", c.AddReceipt(ctx, PaymentTypeEcom, "", Receipt{}), ErrInvalidArgument},
		{"receipt empty type", c.AddReceipt(ctx, "", "order-1234", Receipt{}), ErrInvalidArgument},
		{"category empty order", c.PutCategory(ctx, PaymentTypeEcom, "", Category{}), ErrInvalidArgument},
		{"get order empty", second(c.GetOrder(ctx, PaymentTypeEcom, "")), ErrInvalidArgument},
		{"register without url", second(c.RegisterWebhook(ctx, "", AllPaymentEventTypes)), ErrInvalidArgument},
		{"register without events", second(c.RegisterWebhook(ctx, "https://x.example", nil)), ErrInvalidArgument},
		{"delete without id", c.DeleteWebhook(ctx, ""), ErrInvalidArgument},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, tc.err, tc.want)
		}
		if StatusCode(tc.err) != 0 || IsTransient(tc.err) {
			t.Errorf("%s: caller error classified as a server answer", tc.name)
		}
	}
	if n := f.apiCalls.Load(); n != 0 {
		t.Fatalf("api calls = %d, want 0", n)
	}
}

func second[T any](_ T, err error) error { return err }

func TestBaseURLPathPrefixIsKept(t *testing.T) {
	f := newFake(t, nil)
	c, _ := newTestClient(t, f, func(cfg *Config) { cfg.BaseURL = f.srv.URL + "/vipps/" })
	f.srv.Config.Handler = http.StripPrefix("/vipps", http.HandlerFunc(f.serve))
	f.api = paymentAPI
	if _, err := c.GetPayment(context.Background(), "order-1234"); err != nil {
		t.Fatalf("GetPayment: %v", err)
	}
	if n := f.tokenCalls.Load(); n != 1 {
		t.Fatalf("token calls = %d", n)
	}
}

func TestEmptyListsAreNotNil(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		if strings.HasSuffix(r.URL.Path, "/events") {
			writeJSON(w, 200, []PaymentEvent{})
			return
		}
		writeJSON(w, 200, map[string]any{"webhooks": []Webhook{}})
	})
	c, _ := newTestClient(t, f, nil)
	ev, err := c.GetPaymentEvents(context.Background(), "order-1234")
	if err != nil || ev == nil || len(ev) != 0 {
		t.Fatalf("events = %#v, %v", ev, err)
	}
	wh, err := c.ListWebhooks(context.Background())
	if err != nil || wh == nil || len(wh) != 0 {
		t.Fatalf("webhooks = %#v, %v", wh, err)
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	elsewhere := newFake(t, paymentAPI)
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, s seen) {
		http.Redirect(w, r, elsewhere.srv.URL+r.URL.Path, http.StatusTemporaryRedirect)
	})
	c, _ := newTestClient(t, f, nil)
	_, err := c.GetPayment(context.Background(), "order-1234")
	if StatusCode(err) != http.StatusTemporaryRedirect {
		t.Fatalf("err = %v, want the 307 as an *Error", err)
	}
	if n := elsewhere.apiCalls.Load() + elsewhere.tokenCalls.Load(); n != 0 {
		t.Fatalf("the redirect target received %d requests", n)
	}
}
