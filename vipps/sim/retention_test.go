package sim_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/vipps"
	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

// TestRetentionForgetsFinishedPayments: with a retention, a payment that
// no longer waits for the buyer is forgotten that long after its last
// change, with its idempotency entries, landing token, pending webhook
// deliveries, receipt and category; what belongs to no payment is
// forgotten that long after it was made. Registrations stay.
func TestRetentionForgetsFinishedPayments(t *testing.T) {
	e := newEnvWith(t, sim.Options{Retention: time.Hour})
	ctx := context.Background()
	rc := newReceiver(t)
	reg, err := e.client.RegisterWebhook(ctx, rc.srv.URL, vipps.AllPaymentEventTypes)
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.secret, rc.fail = reg.Secret, 1<<30 // every delivery fails: they stay queued
	rc.mu.Unlock()
	nok := func(v int64) vipps.Amount { return vipps.Amount{Currency: "NOK", Value: v} }
	rate := 2500
	receipt := vipps.Receipt{OrderLines: []vipps.OrderLine{{Name: "Socks", ID: "socks", TotalAmount: 49900, TotalAmountExcludingTax: 39920, TotalTaxAmount: 9980, TaxRate: &rate}},
		BottomLine: vipps.BottomLine{Currency: "NOK"}}

	e.create(t, validCreate("kept-0000001"))
	if err := e.sim.Approve("kept-0000001"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CapturePayment(ctx, "kept-0000001", "c1", nok(10000)); err != nil {
		t.Fatal(err)
	}
	if err := e.client.PutCategory(ctx, vipps.PaymentTypeEcom, "kept-0000001", vipps.Category{Category: vipps.CategoryDelivery, OrderDetailsURL: "https://shop.example/track"}); err != nil {
		t.Fatal(err)
	}
	gone := e.create(t, validCreate("gone-0000001"))
	if err := e.sim.Reject("gone-0000001"); err != nil {
		t.Fatal(err)
	}
	if err := e.client.AddReceipt(ctx, vipps.PaymentTypeEcom, "gone-0000001", receipt); err != nil {
		t.Fatal(err)
	}
	e.create(t, validCreate("wait-0000001")) // expires after ten minutes
	if _, err := e.client.CapturePayment(ctx, "ghost-000001", "c-ghost", nok(100)); !vipps.IsNotFound(err) {
		t.Fatalf("capture of an unknown reference: %v", err)
	}
	if err := e.client.AddReceipt(ctx, vipps.PaymentTypeEcom, "ghost-order-1", receipt); err != nil {
		t.Fatal(err)
	}
	st := e.sim.Stats()
	if st.Payments != 3 || st.IdempotencyKeys != 5 || st.LandingTokens != 3 || st.Receipts != 2 || st.Categories != 1 || st.DeliveryQueues != 3 {
		t.Fatalf("before: %+v", st)
	}

	e.advance(t, 59*time.Minute)
	if _, err := e.client.CapturePayment(ctx, "kept-0000001", "c2", nok(10000)); err != nil {
		t.Fatal(err)
	}
	e.advance(t, 2*time.Minute) // the rejected payment and what has no payment are an hour old
	if _, ok := e.sim.Payment("gone-0000001"); ok {
		t.Fatal("the rejected payment is still there an hour after its last change")
	}
	if _, err := e.client.GetPayment(ctx, "gone-0000001"); !vipps.IsNotFound(err) {
		t.Fatalf("get of a forgotten payment: %v", err)
	}
	if _, err := e.client.GetOrder(ctx, vipps.PaymentTypeEcom, "gone-0000001"); !vipps.IsNotFound(err) {
		t.Fatalf("the forgotten payment's receipt: %v", err)
	}
	if _, err := e.client.GetOrder(ctx, vipps.PaymentTypeEcom, "ghost-order-1"); !vipps.IsNotFound(err) {
		t.Fatalf("a receipt without payment: %v", err)
	}
	page, err := http.Get(gone.RedirectURL)
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if page.StatusCode != http.StatusNotFound {
		t.Fatalf("landing page of a forgotten payment: %d", page.StatusCode)
	}
	if _, ok := e.sim.Payment("kept-0000001"); !ok {
		t.Fatal("a payment captured a minute ago was forgotten")
	}
	if _, ok := e.sim.Payment("wait-0000001"); !ok {
		t.Fatal("the payment that expired 51 minutes ago was forgotten")
	}
	if st := e.sim.Stats(); st.Payments != 2 || st.IdempotencyKeys != 4 || st.Receipts != 0 || st.Categories != 1 {
		t.Fatalf("after an hour: %+v", st)
	}

	e.advance(t, 70*time.Minute) // past an hour after the last capture
	st = e.sim.Stats()
	if st.Payments != 0 || st.Waiting != 0 || st.IdempotencyKeys != 0 || st.LandingTokens != 0 || st.DeliveryQueues != 0 ||
		st.Receipts != 0 || st.Categories != 0 || st.Webhooks != 1 {
		t.Fatalf("after everything's retention: %+v", st)
	}
	// The reference and key are free again: the create is made anew, not
	// replayed.
	again := e.create(t, validCreate("gone-0000001"))
	if again.RedirectURL == gone.RedirectURL || !strings.Contains(again.RedirectURL, "token=") {
		t.Fatalf("the create was replayed: %s", again.RedirectURL)
	}
	if p := e.get(t, "gone-0000001"); p.State != vipps.StateCreated {
		t.Fatalf("state %s", p.State)
	}
}
