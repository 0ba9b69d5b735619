package handlers

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/shop"
	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/state/storefault"
	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

// TestLostCommitOfAShipIsNeverTakenTwice: the commit that records a ship
// (the pending capture and its outbox job) goes through, but its answer is
// lost. The merchant is told the outcome is not known — not "nothing was
// charged" — and a retry with the same Idempotency-Key gets the real
// outcome; a new request while the capture is pending is refused 409, and
// the outbox finishing the capture later takes nothing more. Vipps holds
// one capture of 10000.
func TestLostCommitOfAShipIsNeverTakenTwice(t *testing.T) {
	x := newShopHarness(t)
	ref := x.authorized()
	ship := "/vipps/orders/" + ref + "/ship"

	x.faults.Decide(failOnce("Update", storefault.LoseAnswer))
	resp, body := x.merchant(http.MethodPost, ship, `{"amount":10000}`, "erp-ship-1")
	x.faults.Decide(nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("ship whose record was not confirmed: %d %s", resp.StatusCode, body)
	}
	p := problemOf(t, resp, body)
	if strings.Contains(p.Detail, "Nothing was") || !strings.Contains(p.Detail, "same Idempotency-Key") {
		t.Fatalf("the answer claims what nobody knows: %+v", p)
	}
	// Another request for the same money, with a new key or none, while
	// the first is pending: refused, nothing doubled.
	for _, key := range []string{"erp-ship-2", ""} {
		if resp, body := x.merchant(http.MethodPost, ship, `{"amount":10000}`, key); resp.StatusCode != http.StatusConflict {
			t.Fatalf("a new ship (key %q) while the first is pending: %d %s", key, resp.StatusCode, body)
		}
	}
	// The same key: the recorded capture is sent and its outcome answered.
	resp, body = x.merchant(http.MethodPost, ship, `{"amount":10000}`, "erp-ship-1")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry with the same key: %d %s", resp.StatusCode, body)
	}
	if op := operationOf(t, body); op.Operation.Status != shop.OpDone || op.Payment.Captured != 10000 {
		t.Fatalf("retry with the same key: %s", body)
	}
	x.runWorker()
	if got := x.atVipps(ref).Aggregate.CapturedAmount.Value; got != 10000 {
		t.Fatalf("vipps captured %d for a ship of 10000", got)
	}
	if o := x.order(ref); o.Payment.Captured != 10000 || len(o.Ops) != 1 {
		t.Fatalf("the order: %+v", o)
	}
}

// TestReadAfterTheRecordFailing: the ship's record is confirmed, but the
// database refuses the read that follows. The ship goes on from what the
// write returned; it does not answer 503 for a capture it then makes.
func TestReadAfterTheRecordFailing(t *testing.T) {
	x := newShopHarness(t)
	ref := x.authorized()
	updated := false
	x.faults.Decide(func(c storefault.Call) storefault.Fault {
		if c.Method == "Update" {
			updated = true
		}
		if updated && c.Method == "Get" {
			return storefault.Refuse
		}
		return storefault.None
	})
	resp, body := x.merchant(http.MethodPost, "/vipps/orders/"+ref+"/ship", `{"amount":10000}`, "")
	x.faults.Decide(nil)
	if resp.StatusCode != http.StatusOK || operationOf(t, body).Payment.Captured != 10000 {
		t.Fatalf("ship: %d %s", resp.StatusCode, body)
	}
}

// TestOutcomeNotRecordedIsNotKnown: Vipps captures, and the database
// refuses the record of its answer (or is closed under the request, as in
// a reload). The merchant hears that the outcome is not known — never a
// 2xx for a change that is not recorded, never a dropped connection —,
// and the same key then returns the capture, made once.
func TestOutcomeNotRecordedIsNotKnown(t *testing.T) {
	for _, fault := range []storefault.Fault{storefault.Refuse, storefault.Close} {
		t.Run(fault.String(), func(t *testing.T) {
			x := newShopHarness(t)
			ref := x.authorized()
			updates := 0
			x.faults.Decide(func(c storefault.Call) storefault.Fault {
				if c.Method != "Update" {
					return storefault.None
				}
				updates++
				if updates == 2 { // the first records the capture, the second its outcome
					return fault
				}
				return storefault.None
			})
			resp, body := x.merchant(http.MethodPost, "/vipps/orders/"+ref+"/ship", `{"amount":10000}`, "k-1")
			if resp.StatusCode != http.StatusServiceUnavailable || problemOf(t, resp, body).Title != "Outcome not known yet" {
				t.Fatalf("ship whose outcome was not recorded: %d %s", resp.StatusCode, body)
			}
			x.faults.Decide(nil)
			x.faults.Reopen()
			if got := x.atVipps(ref).Aggregate.CapturedAmount.Value; got != 10000 {
				t.Fatalf("vipps captured %d", got)
			}
			if o := x.order(ref); o.Ops[0].Status != shop.OpPending || !hasJob(t, x.store, "op-"+o.Ops[0].ID) {
				t.Fatalf("the pending capture has no job to finish it: %+v", o.Ops)
			}
			resp, body = x.merchant(http.MethodPost, "/vipps/orders/"+ref+"/ship", `{"amount":10000}`, "k-1")
			if fault == storefault.Close && resp.StatusCode == http.StatusConflict {
				// A closed store kept not even the note that the outcome
				// is open: the key counts as in flight until the
				// hand-over, then runs again.
				x.clock.Advance(x.svc.Handover())
				resp, body = x.merchant(http.MethodPost, "/vipps/orders/"+ref+"/ship", `{"amount":10000}`, "k-1")
			}
			if resp.StatusCode != http.StatusOK || operationOf(t, body).Payment.Captured != 10000 {
				t.Fatalf("retry with the same key: %d %s", resp.StatusCode, body)
			}
			x.runWorker()
			if got := x.atVipps(ref).Aggregate.CapturedAmount.Value; got != 10000 {
				t.Fatalf("vipps captured %d after the retry and the outbox", got)
			}
		})
	}
}

// TestWorkerKeepsTheJobOfAnOutcomeItCouldNotRecord: an operation's answer
// was lost; the outbox finds out at Vipps, but the database refuses the
// record of what it found. The job stays (and runs again), so the
// operation is not left pending for ever with nothing to finish it.
func TestWorkerKeepsTheJobOfAnOutcomeItCouldNotRecord(t *testing.T) {
	x := newShopHarness(t)
	ref := x.authorized()
	x.sim.InjectFault(sim.Fault{Operation: "capture", DropAfterCommit: true, Budget: sim.Budget{Count: 8}})
	resp, body := x.merchant(http.MethodPost, "/vipps/orders/"+ref+"/ship", `{"amount":10000}`, "")
	x.sim.ClearFaults()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("ship whose answer was lost: %d %s", resp.StatusCode, body)
	}
	opID := operationOf(t, body).Operation.ID
	x.faults.Decide(func(c storefault.Call) storefault.Fault {
		if c.Method == "Update" {
			return storefault.Refuse
		}
		return storefault.None
	})
	x.runWorker()
	x.faults.Decide(nil)
	if o := x.order(ref); o.Ops[0].Status != shop.OpPending || !hasJob(t, x.store, "op-"+opID) {
		t.Fatalf("after a worker that could not record: ops %+v, job kept %v", o.Ops, hasJob(t, x.store, "op-"+opID))
	}
	x.runWorker()
	if o := x.order(ref); o.Ops[0].Status != shop.OpDone || o.Payment.Captured != 10000 || hasJob(t, x.store, "op-"+opID) {
		t.Fatalf("after the next run: %+v", o)
	}
}

// TestClosedStoreAnswersInsteadOfDropping: the store is closed just as
// Vipps answers a ship (a reload). The handler answers — problem+json —
// instead of panicking and dropping the connection; and a handler that
// does panic is answered 500 and logged with the request's ID.
func TestClosedStoreAnswersInsteadOfDropping(t *testing.T) {
	x := newShopHarness(t)
	ref := x.authorized()
	updates := 0
	x.faults.Decide(func(c storefault.Call) storefault.Fault {
		if c.Method == "Update" {
			if updates++; updates == 2 {
				return storefault.Close
			}
		}
		return storefault.None
	})
	resp, body := x.merchant(http.MethodPost, "/vipps/orders/"+ref+"/ship", "", "")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("ship with the store closed under it: %d %s", resp.StatusCode, body)
	}
	problemOf(t, resp, body)

	logs := newLogSink()
	h := New(nil, Config{BasePath: "/vipps", AdminToken: harnessToken, Logger: logs.logger(),
		RequestID: func(*http.Request) string { return "req-42" }})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/vipps/orders/"+ref, nil)
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("a handler that panics: %d %s", rec.Code, rec.Body)
	}
	if e := logs.find("handler panic"); len(e) != 1 || e[0].ContextMap()["request_id"] != "req-42" {
		t.Fatalf("the panic's log: %+v", e)
	}
}

// TestKeyReusedAfterItsAnswerExpired: an Idempotency-Key is reused a day
// and more after its first request, when its kept answer has expired. With
// another request it is refused 422 (it started a capture on this order,
// which keeps it as long as the order is kept), not silently answered with
// the old capture; with the same request it is a marked replay.
func TestKeyReusedAfterItsAnswerExpired(t *testing.T) {
	x := newShopHarness(t)
	ref := x.authorized()
	ship := "/vipps/orders/" + ref + "/ship"
	if resp, body := x.merchant(http.MethodPost, ship, `{"amount":10000}`, "erp-77"); resp.StatusCode != http.StatusOK {
		t.Fatalf("first ship: %d %s", resp.StatusCode, body)
	}
	x.clock.Advance(state.RequestKeyTTL + time.Hour)
	resp, body := x.merchant(http.MethodPost, ship, `{"amount":20000}`, "erp-77")
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("the key with another ship after a day: %d %s", resp.StatusCode, body)
	}
	resp, body = x.merchant(http.MethodPost, ship, `{"amount":10000}`, "erp-77")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Idempotent-Replayed") != "true" || operationOf(t, body).Operation.Amount != 10000 {
		t.Fatalf("the key with the same ship after a day: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if got := x.atVipps(ref).Aggregate.CapturedAmount.Value; got != 10000 {
		t.Fatalf("vipps captured %d", got)
	}
}

// TestCancelBeforeApprovalReservesNothing: a payment cancelled before the
// buyer approved it has the whole amount cancelled and nothing
// authorized: nothing is reserved, never a negative amount.
func TestCancelBeforeApprovalReservesNothing(t *testing.T) {
	x := newShopHarness(t)
	res, err := x.svc.Checkout(t.Context(), shop.CheckoutRequest{Lines: []shop.CartLine{{SKU: "socks", Qty: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	ref := res.Order.Reference
	resp, body := x.merchant(http.MethodPost, "/vipps/orders/"+ref+"/cancel", "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("cancel: %d %s", resp.StatusCode, body)
	}
	if m := operationOf(t, body).Payment; m.Reserved != 0 || m.Cancelled != 14900 || m.Refundable != 0 {
		t.Fatalf("after a cancel before approval: %+v", m)
	}
	_, body = x.merchant(http.MethodGet, "/vipps/orders?format=csv", "", "")
	if strings.Contains(string(body), "-14900") {
		t.Fatalf("the CSV shows a negative amount:\n%s", body)
	}
}

// TestShipAfterCancelIsAConflict: shipping an order whose reservation was
// released (after approval, or before it) is a conflict with the order's
// state — 409, whichever way the ship says what to capture —, and a key
// that started the cancel is refused for the ship as reused (422).
func TestShipAfterCancelIsAConflict(t *testing.T) {
	x := newShopHarness(t)
	approved := x.authorized()
	res, err := x.svc.Checkout(t.Context(), shop.CheckoutRequest{Lines: []shop.CartLine{{SKU: "socks", Qty: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{approved, res.Order.Reference} {
		if resp, body := x.merchant(http.MethodPost, "/vipps/orders/"+ref+"/cancel", "", "cancel-"+ref); resp.StatusCode != http.StatusOK {
			t.Fatalf("cancel: %d %s", resp.StatusCode, body)
		}
		for _, b := range []string{"", `{"all":true}`, `{"amount":100}`, `{"lines":[{"sku":"socks","qty":1}]}`} {
			if resp, body := x.merchant(http.MethodPost, "/vipps/orders/"+ref+"/ship", b, ""); resp.StatusCode != http.StatusConflict {
				t.Fatalf("ship %q after cancel: %d %s", b, resp.StatusCode, body)
			}
		}
		if resp, body := x.merchant(http.MethodPost, "/vipps/orders/"+ref+"/ship", "", "cancel-"+ref); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("ship with the cancel's key: %d %s", resp.StatusCode, body)
		}
	}
	// A day later the key's kept answer has expired; the cancel it
	// started still holds it.
	x.clock.Advance(25 * time.Hour)
	if resp, body := x.merchant(http.MethodPost, "/vipps/orders/"+approved+"/ship", "", "cancel-"+approved); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("ship with the cancel's key a day later: %d %s", resp.StatusCode, body)
	}
}

// hasJob reports whether the outbox holds a job.
func hasJob(t interface{ Fatal(...any) }, s state.Store, id string) bool {
	jobs, err := s.PendingJobs()
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.ID == id {
			return true
		}
	}
	return false
}

// TestAdminOffersPayAgainOnce: the admin page offers "pay again" for an
// order whose buyer rejected the payment; once a link for it is made the
// page names that link instead, and a second press is refused with a
// reason, not a second link.
func TestAdminOffersPayAgainOnce(t *testing.T) {
	x := newShopHarness(t)
	res, err := x.svc.Checkout(t.Context(), shop.CheckoutRequest{Lines: []shop.CartLine{{SKU: "socks", Qty: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	ref := res.Order.Reference
	if err := x.sim.Reject(ref); err != nil {
		t.Fatal(err)
	}
	if _, err := x.svc.Refresh(t.Context(), ref, state.SourceWebhook); err != nil {
		t.Fatal(err)
	}
	page := func() string {
		req, _ := http.NewRequest(http.MethodGet, x.url+"/vipps/admin", nil)
		req.Header.Set("Authorization", "Bearer "+harnessToken)
		req.Header.Set("Accept", "text/html")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if p := page(); !strings.Contains(p, `name="order" value="`+ref+`"`) {
		t.Fatal("the admin page offers no pay-again for a rejected order")
	}
	press := func(key string) *url.URL {
		form := url.Values{"op": {"create"}, "kind": {"order"}, "order": {ref}, "days": {"7"}, "key": {key}}
		req, _ := http.NewRequest(http.MethodPost, x.url+"/vipps/admin/links", strings.NewReader(form.Encode()))
		req.Header.Set("Authorization", "Bearer "+harnessToken)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		u, err := resp.Location()
		if err != nil {
			t.Fatalf("pay again answered %d without a way on", resp.StatusCode)
		}
		return u
	}
	if u := press("k1"); u.Query().Get("created") == "" {
		t.Fatalf("pay again: %s", u)
	}
	p := page()
	if strings.Contains(p, `name="order" value="`+ref+`"`) || !strings.Contains(p, "again-open") {
		t.Fatal("the admin page still offers pay-again for an order whose goods a link offers")
	}
	if u := press("k2"); u.Query().Get("problem") != "again" {
		t.Fatalf("a second pay again: %s", u)
	}
	if links, _, _ := x.svc.Links("", 10); len(links) != 1 {
		t.Fatalf("%d links for one order", len(links))
	}
}

var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestLinkWhoseWriteWasNotConfirmed: the database applies a new link's
// write and loses the answer. The merchant hears that the outcome is not
// known; the same request with its key then gets that very link (its
// address included), and no second link exists.
func TestLinkWhoseWriteWasNotConfirmed(t *testing.T) {
	x := newShopHarness(t)
	body := `{"amount":25000,"description":"Haircut","vat":25}`
	x.faults.Decide(failOnce("CreateLink", storefault.LoseAnswer))
	resp, b := x.merchant(http.MethodPost, "/vipps/links", body, "erp-link-1")
	x.faults.Decide(nil)
	if resp.StatusCode != http.StatusServiceUnavailable || problemOf(t, resp, b).Title != "Outcome not known yet" {
		t.Fatalf("a link whose write was not confirmed: %d %s", resp.StatusCode, b)
	}
	resp, b = x.merchant(http.MethodPost, "/vipps/links", body, "erp-link-1")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("the same request again: %d %s", resp.StatusCode, b)
	}
	var v LinkView
	if err := json.Unmarshal(b, &v); err != nil || v.URL == "" {
		t.Fatalf("the link: %v %s", err, b)
	}
	links, _, err := x.svc.Links("", 10)
	if err != nil || len(links) != 1 || links[0].ID != v.ID || !strings.HasSuffix(v.URL, links[0].Token) {
		t.Fatalf("links after the retry: %+v (answered %+v) %v", links, v, err)
	}
	if resp, b := x.merchant(http.MethodPost, "/vipps/links", `{"amount":26000,"description":"Haircut","vat":25}`, "erp-link-1"); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("the key with another link: %d %s", resp.StatusCode, b)
	}
}
