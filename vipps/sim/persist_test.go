package sim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/vipps"
	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

// pngImage returns a w×h PNG.
func pngImage(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// stop closes an env before the test ends, as a restart does.
func (e *env) stop(t *testing.T) {
	t.Helper()
	e.srv.Close()
	if err := e.sim.Close(); err != nil {
		t.Fatal(err)
	}
}

func (e *env) controlHooks(t *testing.T) []map[string]any {
	t.Helper()
	_, body := e.raw(t, http.MethodGet, "/_sim/webhooks", nil, nil)
	var hooks []map[string]any
	if err := json.Unmarshal(body, &hooks); err != nil {
		t.Fatal(err)
	}
	return hooks
}

// TestDataDirectoryKeepsEverythingAcrossARestart: a simulator opened on the
// data directory of one that was closed knows every payment with its events
// and aggregates, every idempotency key (replays and conflicts stay as
// they were), the webhook registrations with their secrets and the
// deliveries still pending, receipts, categories, images and landing
// tokens; and further captures, refunds and cancels work on that state.
func TestDataDirectoryKeepsEverythingAcrossARestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	nok := func(v int64) vipps.Amount { return vipps.Amount{Currency: "NOK", Value: v} }
	rc := newReceiver(t)
	rc.fail = 1 << 30 // nothing is delivered before the restart

	a := newEnvWith(t, sim.Options{DataDir: dir})
	reg, err := a.client.RegisterWebhook(ctx, rc.srv.URL, []string{vipps.EventAuthorized.WebhookEventType(), vipps.EventCaptured.WebhookEventType(), vipps.EventRefunded.WebhookEventType()})
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.secret = reg.Secret
	rc.mu.Unlock()
	first := a.create(t, validCreate("restart-00001"))
	if err := a.sim.Approve("restart-00001"); err != nil {
		t.Fatal(err)
	}
	captured, err := a.client.CapturePayment(ctx, "restart-00001", "c1", nok(20000))
	if err != nil {
		t.Fatal(err)
	}
	a.create(t, validCreate("restart-00002"))
	if err := a.sim.Approve("restart-00002"); err != nil {
		t.Fatal(err)
	}
	waiting := a.create(t, validCreate("restart-00003"))
	rate := 2500
	receipt := vipps.Receipt{OrderLines: []vipps.OrderLine{{Name: "Socks", ID: "socks", TotalAmount: 49900, TotalAmountExcludingTax: 39920, TotalTaxAmount: 9980, TaxRate: &rate}},
		BottomLine: vipps.BottomLine{Currency: "NOK"}}
	if err := a.client.AddReceipt(ctx, vipps.PaymentTypeEcom, "restart-00001", receipt); err != nil {
		t.Fatal(err)
	}
	if err := a.client.UploadImage(ctx, "socks-orange", pngImage(t, 200, 200)); err != nil {
		t.Fatal(err)
	}
	category := vipps.Category{Category: vipps.CategoryDelivery, OrderDetailsURL: "https://shop.example/track/1", ImageID: "socks-orange"}
	if err := a.client.PutCategory(ctx, vipps.PaymentTypeEcom, "restart-00001", category); err != nil {
		t.Fatal(err)
	}
	before, _ := a.sim.Payment("restart-00001")
	hooksBefore := a.controlHooks(t)
	statsBefore := a.sim.Stats()
	a.stop(t)

	b := newEnvWith(t, sim.Options{DataDir: dir})
	after, ok := b.sim.Payment("restart-00001")
	if !ok || !reflect.DeepEqual(before, after) {
		t.Fatalf("payment after the restart:\n%+v\nwant\n%+v", after, before)
	}
	if st := b.sim.Stats(); st.Payments != statsBefore.Payments || st.Waiting != 1 || st.IdempotencyKeys != statsBefore.IdempotencyKeys ||
		st.LandingTokens != 3 || st.Webhooks != 1 || st.DeliveryQueues != statsBefore.DeliveryQueues || st.Receipts != 1 || st.Categories != 1 || st.Images != 1 {
		t.Fatalf("stats after the restart %+v, before %+v", st, statsBefore)
	}
	// Idempotency: the same key and body replay the answer given before the
	// restart, another body is a conflict; a new key captures.
	replay, err := b.client.CapturePayment(ctx, "restart-00001", "c1", nok(20000))
	if err != nil || !reflect.DeepEqual(replay, captured) {
		t.Fatalf("replayed capture %+v %v, want %+v", replay, err, captured)
	}
	if _, err := b.client.CapturePayment(ctx, "restart-00001", "c1", nok(100)); vipps.ErrorCode(err) != "4010" {
		t.Fatalf("same key, other amount: %v", err)
	}
	if again, err := b.client.CreatePayment(ctx, "key-restart-00001", validCreate("restart-00001")); err != nil || again.RedirectURL != first.RedirectURL {
		t.Fatalf("replayed create %+v %v", again, err)
	}
	if _, err := b.client.CreatePayment(ctx, "a-new-key", validCreate("restart-00001")); vipps.ErrorCode(err) != "4150" {
		t.Fatalf("the reference is taken: %v", err)
	}
	m, err := b.client.CapturePayment(ctx, "restart-00001", "c2", nok(29900))
	if err != nil || m.Aggregate.CapturedAmount.Value != 49900 {
		t.Fatalf("capture the rest: %+v %v", m, err)
	}
	m, err = b.client.RefundPayment(ctx, "restart-00001", "r1", nok(10000))
	if err != nil || m.Aggregate.RefundedAmount.Value != 10000 || m.Aggregate.CapturedAmount.Value != 49900 {
		t.Fatalf("refund: %+v %v", m, err)
	}
	m, err = b.client.CancelPayment(ctx, "restart-00002", "x1", false)
	if err != nil || m.Aggregate.CancelledAmount.Value != 49900 || m.Aggregate.AuthorizedAmount.Value != 49900 {
		t.Fatalf("cancel: %+v %v", m, err)
	}
	// The landing token of the payment still waiting works on the new
	// simulator.
	token := waiting.RedirectURL[strings.Index(waiting.RedirectURL, "token=")+len("token="):]
	page, err := http.Get(b.srv.URL + "/landing?token=" + token)
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != http.StatusOK || !strings.Contains(string(html), "restart-00003") {
		t.Fatalf("landing page: %d\n%s", page.StatusCode, html)
	}
	// Registrations keep their ids and secrets.
	if hooks := b.controlHooks(t); !reflect.DeepEqual(hooks, hooksBefore) {
		t.Fatalf("registrations %v, want %v", hooks, hooksBefore)
	}
	// Order Management kept the receipt, the category and the image.
	o, err := b.client.GetOrder(ctx, vipps.PaymentTypeEcom, "restart-00001")
	if err != nil || o.Receipt == nil || o.Category == nil || *o.Category != category {
		t.Fatalf("order %+v %v", o, err)
	}
	if err := b.client.UploadImage(ctx, "socks-orange", pngImage(t, 200, 200)); !vipps.IsConflict(err) {
		t.Fatalf("uploading the image again: %v", err)
	}
	// The deliveries that were pending are made, signed with the kept
	// secret, in order per payment, followed by the new ones.
	rc.mu.Lock()
	rc.fail = 0
	rc.mu.Unlock()
	waitFor(t, "the deliveries", func() bool {
		b.clock.Advance(3 * time.Second)
		return len(eventsFor(rc, "restart-00001")) >= 4
	})
	if got := eventsFor(rc, "restart-00001"); !slices.Equal(got, []string{"AUTHORIZED", "CAPTURED 20000", "CAPTURED 29900", "REFUNDED 10000"}) {
		t.Fatalf("delivered %v", got)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.errs) != 0 {
		t.Fatalf("receiver errors: %v", rc.errs)
	}
}

// eventsFor lists the events a receiver got for a reference, with amounts
// for captures and refunds.
func eventsFor(rc *receiver, ref string) []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, ev := range rc.got {
		if ev.Reference != ref {
			continue
		}
		s := string(ev.Name)
		if ev.Name == vipps.EventCaptured || ev.Name == vipps.EventRefunded {
			s += " " + strconv.FormatInt(ev.Amount.Value, 10)
		}
		out = append(out, s)
	}
	return out
}

// TestDataDirectoryKeepsTheClockOffset: time moved forward stays moved
// after a restart.
func TestDataDirectoryKeepsTheClockOffset(t *testing.T) {
	dir := t.TempDir()
	s, err := sim.Open(sim.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s.Advance(48 * time.Hour)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sim.Open(sim.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ahead := time.Until(s.Clock().Now()); ahead < 47*time.Hour || ahead > 49*time.Hour {
		t.Fatalf("the clock is %s ahead after the restart, want 48h", ahead)
	}
}

// TestDataDirectorySkipsATornLine: the half line a crash leaves at the end
// of the file is skipped; everything before it is there.
func TestDataDirectorySkipsATornLine(t *testing.T) {
	dir := t.TempDir()
	a := newEnvWith(t, sim.Options{DataDir: dir})
	a.create(t, validCreate("torn-0000001"))
	a.stop(t)
	segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.jsonl"))
	if len(segs) == 0 {
		t.Fatal("no segment in the data directory")
	}
	f, err := os.OpenFile(segs[len(segs)-1], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"t":"payment","id":"123456/torn-0000002","v":{"seq":2,"msn":"123`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b := newEnvWith(t, sim.Options{DataDir: dir})
	if _, ok := b.sim.Payment("torn-0000001"); !ok {
		t.Fatal("the payment before the torn line is gone")
	}
	if n := len(b.sim.Payments()); n != 1 {
		t.Fatalf("%d payments", n)
	}
	b.create(t, validCreate("torn-0000003"))
	b.stop(t)
	c := newEnvWith(t, sim.Options{DataDir: dir})
	if n := len(c.sim.Payments()); n != 2 {
		t.Fatalf("%d payments after a second restart", n)
	}
}

// TestDataDirectoryForgetsWithTheRetention: what retention forgets is gone
// from the data directory too, and a reset empties it.
func TestDataDirectoryForgetsWithTheRetention(t *testing.T) {
	dir := t.TempDir()
	a := newEnvWith(t, sim.Options{DataDir: dir, Retention: time.Hour})
	a.create(t, validCreate("short-000001"))
	if err := a.sim.Reject("short-000001"); err != nil {
		t.Fatal(err)
	}
	a.create(t, validCreate("short-000002"))
	a.advance(t, 30*time.Minute) // the second expires after ten minutes
	a.advance(t, 31*time.Minute)
	if st := a.sim.Stats(); st.Payments != 1 {
		t.Fatalf("%+v", st)
	}
	a.stop(t)
	b := newEnvWith(t, sim.Options{DataDir: dir, Retention: time.Hour})
	if _, ok := b.sim.Payment("short-000001"); ok {
		t.Fatal("a forgotten payment came back from the data directory")
	}
	if st := b.sim.Stats(); st.Payments != 1 || st.IdempotencyKeys != 1 {
		t.Fatalf("after the restart: %+v", st)
	}
	if status, body := b.raw(t, http.MethodPost, "/_sim/reset", nil, nil); status != http.StatusNoContent {
		t.Fatalf("reset: %d %s", status, body)
	}
	b.stop(t)
	c := newEnvWith(t, sim.Options{DataDir: dir, Retention: time.Hour})
	if st := c.sim.Stats(); st.Payments != 0 || st.IdempotencyKeys != 0 {
		t.Fatalf("after a reset and a restart: %+v", st)
	}
}

// TestDataDirectoryIsForOneSimulator: a second simulator cannot open a
// data directory in use.
func TestDataDirectoryIsForOneSimulator(t *testing.T) {
	dir := t.TempDir()
	s, err := sim.Open(sim.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := sim.Open(sim.Options{DataDir: dir}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second open: %v", err)
	}
}
