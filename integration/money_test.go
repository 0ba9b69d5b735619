package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// TestMerchantBodiesAreStrict: a body a careless script sends moves no
// money: the wrong content type, a typo in a field name, null, zero,
// decimals, strings, trailing data, both "amount" and "all" — each is a 4xx
// that names the problem, and Vipps hears nothing.
func TestMerchantBodiesAreStrict(t *testing.T) {
	startShop(t, shopConfig{})
	ref := approved(t, twoItems()) // 49700
	cases := []struct {
		path, ctype, body string
		status            int
		says              string
	}{
		// curl -d without -H: a form content type around JSON.
		{"ship", "application/x-www-form-urlencoded", `{"amount":10000}`, 415, "Content-Type: application/json"},
		{"ship", "text/plain", `{"amount":10000}`, 415, "Content-Type: application/json"},
		{"ship", "application/json", `{"amout":10000}`, 400, `amout`},
		{"ship", "application/json", `null`, 400, "JSON object"},
		{"ship", "application/json", `{}`, 400, "say what to capture"},
		{"ship", "application/json", `{"amount":0}`, 400, "more than zero"},
		{"ship", "application/json", `{"amount":-5}`, 400, "more than zero"},
		{"ship", "application/json", `{"amount":100.5}`, 400, "whole number"},
		{"ship", "application/json", `{"amount":"100"}`, 400, "whole number"},
		{"ship", "application/json", `{"amount":null}`, 400, "null"},
		{"ship", "application/json", `{"amount":100}{"amount":200}`, 400, "JSON"},
		{"ship", "application/json", `{"amount":100,"all":true}`, 400, "only one"},
		{"ship", "application/json", `{"all":false}`, 400, "say what to capture"},
		{"ship", "application/json", `[{"amount":100}]`, 400, "JSON object"},
		{"ship", "application/json", `{"lines":[{"sku":"socks","qtty":1}]}`, 400, `"field":"lines[0].qtty"`},
		{"ship", "application/json", `{"final":true}`, 400, "say what to capture"},
		{"refund", "application/json", `{"refund_amount":500}`, 400, "refund_amount"},
		{"refund", "application/json", `null`, 400, "JSON object"},
		{"refund", "application/json", `{"lines":[]}`, 400, "lines"},
		{"cancel", "application/json", `{"amount":100}`, 400, "amount"},
		{"cancel", "application/json", `null`, 400, "JSON object"},
	}
	for _, c := range cases {
		resp, body := do(t, http.MethodPost, shopURL+"/vipps/orders/"+ref+"/"+c.path, strings.NewReader(c.body),
			"Authorization", "Bearer "+adminToken, "Content-Type", c.ctype, "Accept", "application/json")
		if resp.StatusCode != c.status || !strings.Contains(string(body), c.says) || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s %s: %d %s", c.path, c.ctype, c.body, resp.StatusCode, body)
		}
	}
	p := simPaymentOf(t, ref)
	if countEvents(p, "CAPTURED")+countEvents(p, "CANCELLED")+countEvents(p, "REFUNDED") != 0 {
		t.Fatalf("refused requests moved money at vipps: %+v", p.Events)
	}
	if o := storedOrder(t, ref); o.Status != "authorized" || o.Payment.Captured != 0 {
		t.Fatalf("refused requests changed the order: %+v", o)
	}
	// What is meant gets done: an amount, then everything with "all".
	if resp, body := merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/ship", `{"amount":10000}`); resp.StatusCode != 200 {
		t.Fatalf("ship an amount: %d %s", resp.StatusCode, body)
	}
	if resp, body := merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/ship", `{"all":true}`); resp.StatusCode != 200 {
		t.Fatalf("ship all: %d %s", resp.StatusCode, body)
	}
	if o := storedOrder(t, ref); o.Status != "captured" || o.Payment.Captured != 49700 {
		t.Fatalf("after shipping: %+v", o)
	}
}

// TestMerchantQueriesAreStrict: a query a careless script writes is
// refused with the parameter named, never read as "everything": a typo in a
// filter would list every order, and ?amount= beside an empty ship body
// would capture all of it.
func TestMerchantQueriesAreStrict(t *testing.T) {
	startShop(t, shopConfig{})
	ref := approved(t, twoItems()) // 49700
	cases := []struct {
		method, path string
		field, says  string
	}{
		{"GET", "/vipps/orders?statu=authorized", "statu", "unknown query parameter"},
		{"GET", "/vipps/orders?status=authorised", "status", "unknown status"},
		{"GET", "/vipps/orders?status=authorized&status=captured", "status", "once"},
		{"GET", "/vipps/orders?format=xml", "format", "csv"},
		{"GET", "/vipps/orders?format=csv&limit=10", "format", "no limit"},
		{"GET", "/vipps/orders?from=2026-02-01&to=2026-01-01", "from", "after to"},
		{"GET", "/vipps/orders?cursor=zzz", "cursor", "not valid"},
		{"GET", "/vipps/orders?link=x&status=captured", "link", "not both"},
		{"GET", "/vipps/orders?limit=%zz", "", "URL encoding"},
		{"GET", "/vipps/links?limt=5", "limt", "unknown query parameter"},
		{"POST", "/vipps/orders/" + ref + "/ship?amount=10000", "amount", "JSON body"},
		{"POST", "/vipps/orders/" + ref + "/refund?amount=100", "amount", "JSON body"},
		{"POST", "/vipps/orders/" + ref + "/cancel?confirm=no", "confirm", "JSON body"},
	}
	for _, c := range cases {
		resp, b := do(t, c.method, shopURL+c.path, nil, "Authorization", "Bearer "+adminToken, "Accept", "application/json")
		var p struct{ Field, Detail string }
		_ = json.Unmarshal(b, &p)
		if resp.StatusCode != http.StatusBadRequest || p.Field != c.field || !strings.Contains(p.Detail, c.says) {
			t.Errorf("%s %s: %d %s", c.method, c.path, resp.StatusCode, b)
		}
	}
	if p := simPaymentOf(t, ref); countEvents(p, "CAPTURED")+countEvents(p, "CANCELLED") != 0 {
		t.Fatalf("a refused query moved money at vipps: %+v", p.Events)
	}
	if o := storedOrder(t, ref); o.Status != "authorized" || o.Payment.Captured != 0 {
		t.Fatalf("a refused query changed the order: %+v", o)
	}
	// What is written right is answered.
	resp, b := do(t, "GET", shopURL+"/vipps/orders?status=authorized&format=json&limit=5", nil, "Authorization", "Bearer "+adminToken)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), ref) {
		t.Fatalf("a good filter: %d %s", resp.StatusCode, b)
	}
	resp, b = do(t, "GET", shopURL+"/vipps/orders?status=authorized&format=csv", nil, "Authorization", "Bearer "+adminToken)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), ref) {
		t.Fatalf("a good CSV export: %d %s", resp.StatusCode, b)
	}
}

// TestNoStatusDeadEndsMoney: a refund after a partial capture leaves the
// rest releasable, and a capture made in the business portal after
// everything captured was refunded is absorbed, not refused.
func TestNoStatusDeadEndsMoney(t *testing.T) {
	startShop(t, shopConfig{})
	ref := approved(t, twoItems()) // 49700
	for _, step := range []struct{ path, body string }{
		{"ship", `{"amount":14900}`},
		{"refund", `{"amount":100}`},
		{"cancel", ""},
	} {
		if resp, body := merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/"+step.path, step.body); resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", step.path, step.body, resp.StatusCode, body)
		}
	}
	p := simPaymentOf(t, ref)
	if p.Aggregate.CancelledAmount.Value != 34800 {
		t.Fatalf("the rest was not released at vipps: %+v", p.Aggregate)
	}
	if o := storedOrder(t, ref); o.Status != "partially_refunded" || o.Payment.Cancelled != 34800 || o.Payment.Refunded != 100 {
		t.Fatalf("after ship, refund, cancel: %+v", o)
	}

	// Everything captured refunded, then the portal captures the rest.
	ref = approved(t, twoItems())
	for _, step := range []struct{ path, body string }{{"ship", `{"amount":14900}`}, {"refund", ""}} {
		if resp, body := merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/"+step.path, step.body); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", step.path, resp.StatusCode, body)
		}
	}
	portal, err := vipps.New(vipps.Config{BaseURL: simURL, ClientID: "portal", ClientSecret: "portal", SubscriptionKey: "portal", MerchantSerialNumber: "123456"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := portal.CapturePayment(context.Background(), ref, "portal-capture-1", vipps.Amount{Currency: "NOK", Value: 34800}); err != nil {
		t.Fatal(err)
	}
	// The captured webhook brings the news.
	waitFor(t, "the portal's capture in the order", func() bool {
		o := storedOrder(t, ref)
		return o.Payment.Captured == 49700 && o.Status == "partially_refunded"
	})
	if resp, body := merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/refund", `{"all":true}`); resp.StatusCode != 200 {
		t.Fatalf("refund what the portal captured: %d %s", resp.StatusCode, body)
	}
	if o := storedOrder(t, ref); o.Status != "refunded" || o.Payment.Refunded != 49700 {
		t.Fatalf("at the end: %+v", o)
	}
}

// TestIdempotencyKeyHeader: an ERP that retries a ship after losing the
// answer captures once; the same key for another request is 422; a retry
// while the first still runs is 409.
func TestIdempotencyKeyHeader(t *testing.T) {
	startShop(t, shopConfig{})
	ref := approved(t, twoItems())
	ship := func(key, body string) (*http.Response, []byte) {
		return do(t, http.MethodPost, shopURL+"/vipps/orders/"+ref+"/ship", strings.NewReader(body),
			"Authorization", "Bearer "+adminToken, "Content-Type", "application/json", "Idempotency-Key", key)
	}
	first, body1 := ship("erp-42", `{"amount":5000}`)
	second, body2 := ship("erp-42", `{ "amount": 5000 }`)
	if first.StatusCode != 200 || second.StatusCode != 200 || string(body1) != string(body2) || second.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %d %s / %d %s (%q)", first.StatusCode, body1, second.StatusCode, body2, second.Header.Get("Idempotent-Replayed"))
	}
	if p := simPaymentOf(t, ref); countEvents(p, "CAPTURED") != 1 || p.Aggregate.CapturedAmount.Value != 5000 {
		t.Fatalf("vipps after a retried ship: %+v", p.Aggregate)
	}
	for _, c := range []struct{ path, body string }{{"ship", `{"amount":6000}`}, {"cancel", ""}, {"refund", `{"amount":5000}`}} {
		resp, body := do(t, http.MethodPost, shopURL+"/vipps/orders/"+ref+"/"+c.path, strings.NewReader(c.body),
			"Authorization", "Bearer "+adminToken, "Content-Type", "application/json", "Idempotency-Key", "erp-42")
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("key reused for %s %s: %d %s", c.path, c.body, resp.StatusCode, body)
		}
	}
	if resp, _ := ship(strings.Repeat("k", 256), `{"amount":1000}`); resp.StatusCode != 400 {
		t.Errorf("a key of 256 characters: %d", resp.StatusCode)
	}
	// A refusal by the order's amounts is an answer: it is replayed too.
	first, body1 = ship("erp-43", `{"amount":9999999}`)
	second, body2 = ship("erp-43", `{"amount":9999999}`)
	if first.StatusCode != 409 || second.StatusCode != 409 || string(body1) != string(body2) {
		t.Fatalf("replayed refusal: %d / %d", first.StatusCode, second.StatusCode)
	}

	// While the first request waits for Vipps, a retry is told so.
	simPost(t, "/_sim/faults", `{"operation":"capture","delay":"1s","count":1}`)
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 1 {
				waitFor(t, "the first request to start", func() bool { return len(storedOrder(t, ref).Operations) == 2 })
			}
			resp, _ := ship("erp-44", `{"amount":1000}`)
			codes[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	if codes[0] != 200 || codes[1] != http.StatusConflict {
		t.Fatalf("concurrent retry: %v", codes)
	}
	if p := simPaymentOf(t, ref); countEvents(p, "CAPTURED") != 2 || p.Aggregate.CapturedAmount.Value != 6000 {
		t.Fatalf("vipps at the end: %+v", p.Aggregate)
	}
}

// TestShipLinesOverflowIsRefused: quantities that would wrap around int are
// refused, and the order's history stays as it was.
func TestShipLinesOverflowIsRefused(t *testing.T) {
	startShop(t, shopConfig{})
	ref := approved(t, twoItems()) // 2 socks, 1 mug
	before := storedOrder(t, ref)
	resp, body := merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/ship",
		`{"lines":[{"sku":"socks","qty":1},{"sku":"socks","qty":9223372036854775807}]}`)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), "left to ship") {
		t.Fatalf("overflowing lines: %d %s", resp.StatusCode, body)
	}
	after := storedOrder(t, ref)
	if len(after.History) != len(before.History) || after.Payment.Captured != 0 || countEvents(simPaymentOf(t, ref), "CAPTURED") != 0 {
		t.Fatalf("refused lines changed something: %+v", after)
	}
}
