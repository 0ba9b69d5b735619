package sim_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/vipps"
	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

// The requests in this file are the ones Vipps' own published Postman
// collections send (written here in our words): references and phone
// numbers as JSON numbers, a QR payment with a size for its SVG, force
// approve with the customer's phone number as a number, and the Order
// Management steps with their image.

// TestCancelAfterApprovalCarriesItsKey: the CANCELLED event of a cancel
// after approval carries the request's Idempotency-Key, in the event log
// and in the webhook, as the CAPTURED, REFUNDED and TERMINATED events do.
func TestCancelAfterApprovalCarriesItsKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rc := newReceiver(t)
	reg, err := e.client.RegisterWebhook(ctx, rc.srv.URL, vipps.AllPaymentEventTypes)
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.secret = reg.Secret
	rc.mu.Unlock()

	e.create(t, validCreate("cancel-key-0001"))
	if err := e.sim.Approve("cancel-key-0001"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CapturePayment(ctx, "cancel-key-0001", "capture-key-1", vipps.Amount{Currency: "NOK", Value: 10000}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CancelPayment(ctx, "cancel-key-0001", "cancel-key-1", false); err != nil {
		t.Fatal(err)
	}
	e.create(t, validCreate("cancel-key-0002"))
	if _, err := e.client.CancelPayment(ctx, "cancel-key-0002", "terminate-key-1", false); err != nil {
		t.Fatal(err)
	}

	events, err := e.client.GetPaymentEvents(ctx, "cancel-key-0001")
	if err != nil {
		t.Fatal(err)
	}
	last := events[len(events)-1]
	if last.Name != vipps.EventCancelled || last.IdempotencyKey != "cancel-key-1" || last.Amount.Value != 39900 {
		t.Fatalf("the CANCELLED event in the log: %+v", last)
	}
	waitFor(t, "the webhooks", func() bool { return len(rc.names()) >= 6 })
	rc.mu.Lock()
	defer rc.mu.Unlock()
	want := map[string]string{"CAPTURED": "capture-key-1", "CANCELLED": "cancel-key-1", "TERMINATED": "terminate-key-1"}
	for _, ev := range rc.got {
		if key, ok := want[string(ev.Name)]; ok {
			if ev.IdempotencyKey != key {
				t.Errorf("the %s webhook carries idempotencyKey %q, want %q", ev.Name, ev.IdempotencyKey, key)
			}
			delete(want, string(ev.Name))
		}
	}
	if len(want) != 0 || len(rc.errs) != 0 {
		t.Fatalf("webhooks missing: %v; verification errors: %v", want, rc.errs)
	}
}

// TestCancelledWithoutKeySetting: the sales unit setting that records the
// CANCELLED event without a key, as an example in Vipps' documentation
// shows it, for clients that must cope with both.
func TestCancelledWithoutKeySetting(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.sim.Configure(sim.Settings{CancelledWithoutKey: true})
	e.create(t, validCreate("cancel-key-0003"))
	if err := e.sim.Approve("cancel-key-0003"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CancelPayment(ctx, "cancel-key-0003", "cancel-key-3", false); err != nil {
		t.Fatal(err)
	}
	view, _ := e.sim.Payment("cancel-key-0003")
	if last := view.Events[len(view.Events)-1]; last.Name != vipps.EventCancelled || last.IdempotencyKey != "" {
		t.Fatalf("CANCELLED with the setting: %+v", last)
	}
	// A cancel before approval still names its request.
	e.create(t, validCreate("cancel-key-0004"))
	if _, err := e.client.CancelPayment(ctx, "cancel-key-0004", "terminate-key-4", false); err != nil {
		t.Fatal(err)
	}
	view, _ = e.sim.Payment("cancel-key-0004")
	if last := view.Events[len(view.Events)-1]; last.Name != vipps.EventTerminated || last.IdempotencyKey != "terminate-key-4" {
		t.Fatalf("TERMINATED with the setting: %+v", last)
	}
}

// collectionCreate is a create body as the published collection writes it:
// the reference (a sales unit number and a timestamp) as a JSON number.
func collectionCreate(ref int64, flow, extra string) string {
	return fmt.Sprintf(`{"amount":{"value":49900,"currency":"NOK"},"paymentMethod":{"type":"WALLET"},
		"reference":%d,"userFlow":%q,"returnUrl":"https://example.com/redirect?reference=%d",
		"paymentDescription":"Purchase of socks"%s}`, ref, flow, ref, extra)
}

// TestQRSizeIsIgnoredForSVG: Vipps' "Create payment - QR" sends qrFormat
// IMAGE/SVG+XML with size 1024, and Vipps answers 201: the size is only
// used for PNG. Outside 100-2000 it is refused whatever the format, as
// the schema says. The "Cancel payment" that follows terminates it.
func TestQRSizeIsIgnoredForSVG(t *testing.T) {
	e := newEnv(t)
	ref := time.Now().UnixMilli() + 1234560000000000000
	status, body := e.raw(t, http.MethodPost, "/epayment/v1/payments",
		collectionCreate(ref, "QR", `,"qrFormat":{"format":"IMAGE/SVG+XML","size":1024}`), map[string]string{"Idempotency-Key": "qr-svg-size"})
	if status != http.StatusCreated {
		t.Fatalf("QR with an SVG of size 1024: %d %s", status, body)
	}
	var created vipps.CreatePaymentResponse
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}
	status, ctype, _ := get(t, created.RedirectURL)
	if status != http.StatusOK || ctype != "image/svg+xml" {
		t.Fatalf("the QR code: %d %s", status, ctype)
	}
	status, body = e.raw(t, http.MethodPost, fmt.Sprintf("/epayment/v1/payments/%d/cancel", ref), nil, map[string]string{"Idempotency-Key": "qr-svg-cancel"})
	if status != http.StatusOK || !strings.Contains(string(body), `"state":"TERMINATED"`) {
		t.Fatalf("cancel the QR payment: %d %s", status, body)
	}
	// A size with the address itself is ignored too.
	status, body = e.raw(t, http.MethodPost, "/epayment/v1/payments",
		collectionCreate(ref+1, "QR", `,"qrFormat":{"format":"TEXT/TARGETURL","size":300}`), map[string]string{"Idempotency-Key": "qr-url-size"})
	if status != http.StatusCreated || !strings.Contains(string(body), "/landing?token=") {
		t.Fatalf("QR TEXT/TARGETURL with a size: %d %s", status, body)
	}
	for i, size := range []int{99, 2001} {
		status, body := e.raw(t, http.MethodPost, "/epayment/v1/payments",
			collectionCreate(ref+2+int64(i), "QR", fmt.Sprintf(`,"qrFormat":{"format":"IMAGE/SVG+XML","size":%d}`, size)),
			map[string]string{"Idempotency-Key": fmt.Sprintf("qr-svg-%d", size)})
		if status != http.StatusBadRequest || !strings.Contains(string(body), `"name":"qrFormat.size"`) {
			t.Fatalf("SVG of size %d: %d %s", size, status, body)
		}
	}
}

// TestForceApproveTakesThePhoneNumberAsANumber: Vipps' "Force approve
// payment" sends customer.phoneNumber as a JSON number (create already
// takes that) beside a token it never filled in. The customer approves:
// a test buyer's number makes that buyer the payer.
func TestForceApproveTakesThePhoneNumberAsANumber(t *testing.T) {
	e := newEnv(t)
	ref := time.Now().UnixMilli() + 1234560000000000000
	status, body := e.raw(t, http.MethodPost, "/epayment/v1/payments",
		collectionCreate(ref, "WEB_REDIRECT", `,"profile":{"scope":"name phoneNumber"}`), map[string]string{"Idempotency-Key": "fa-create"})
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, body)
	}
	status, body = e.raw(t, http.MethodPost, fmt.Sprintf("/epayment/v1/test/payments/%d/approve", ref),
		`{"customer":{"phoneNumber":4512345678},"token":"{{payment_token}}"}`, nil)
	if status != http.StatusOK {
		t.Fatalf("force approve with a number: %d %s", status, body)
	}
	p := e.get(t, fmt.Sprint(ref))
	if p.State != vipps.StateAuthorized || p.UserDetails == nil || p.UserDetails.MobileNumber != "4512345678" {
		t.Fatalf("after force approve: %s %+v, want authorized, paid by 4512345678", p.State, p.UserDetails)
	}
	// The rules for a phone number still apply, and a wrong token alone is
	// still refused.
	e.create(t, validCreate("force-num-0002"))
	for _, c := range []struct{ body, code string }{
		{`{"customer":{"phoneNumber":479123}}`, "4070"},
		{`{"customer":{"phoneNumber":true}}`, ""},
		{`{"token":"not-the-token"}`, "10010"},
	} {
		status, body := e.raw(t, http.MethodPost, "/epayment/v1/test/payments/force-num-0002/approve", c.body, nil)
		if status != http.StatusBadRequest || errorCode(body) != c.code {
			t.Fatalf("%s: %d %s; want 400 with code %q", c.body, status, body, c.code)
		}
	}
	if p := e.get(t, "force-num-0002"); p.State != vipps.StateCreated {
		t.Fatalf("refused approvals changed the payment: %s", p.State)
	}
}

// TestCollectionOrderManagementWalk: the Order Management collection's
// steps. Its image is 32×32 pixels, made before Vipps documented (in the
// spec since November 2023) that an image must be at least 167 pixels
// high, so the upload is refused with the reason, and the category that
// names the image is refused too: the image does not exist. With an image
// high enough under the same id, the category, the receipt (taxPercentage,
// quantities in KG) and the order read back work, the payment type in any
// case.
func TestCollectionOrderManagementWalk(t *testing.T) {
	e := newEnv(t)
	orderID := fmt.Sprint(time.Now().UnixMilli() + 1234560000000000000)
	imageID := "imageid_6a1f0c52-3b7e-4d8a-9c41-0e2d5b7f8a13"
	upload := func(img []byte) (int, string) {
		status, body := e.raw(t, http.MethodPost, "/order-management/v1/images",
			fmt.Sprintf(`{"imageId":%q,"src":%q,"type":"base64"}`, imageID, base64.StdEncoding.EncodeToString(img)), nil)
		return status, string(body)
	}
	category := func() (int, string) {
		status, body := e.raw(t, http.MethodPut, "/order-management/v2/eCom/categories/"+orderID,
			fmt.Sprintf(`{"category":"GENERAL","orderDetailsUrl":"https://example.com/%s","imageId":%q}`, orderID, imageID), nil)
		return status, string(body)
	}
	if status, body := upload(pngImage(t, 32, 32)); status != http.StatusBadRequest || !strings.Contains(body, "32 pixels high; the minimum height is 167") {
		t.Fatalf("the collection's 32×32 image: %d %s", status, body)
	}
	if status, body := category(); status != http.StatusBadRequest || !strings.Contains(body, `"name":"imageId"`) {
		t.Fatalf("a category naming the refused image: %d %s", status, body)
	}
	if status, body := upload(pngImage(t, 200, 201)); status != http.StatusOK || !strings.Contains(body, imageID) {
		t.Fatalf("an image high enough: %d %s", status, body)
	}
	if status, body := category(); status != http.StatusOK {
		t.Fatalf("the category: %d %s", status, body)
	}
	status, body := e.raw(t, http.MethodPost, "/order-management/v2/eCom/receipts/"+orderID, `{"orderLines":[
		{"name":"Socks","id":"line_item_1","totalAmount":1000,"totalAmountExcludingTax":800,"totalTaxAmount":200,"taxPercentage":25,
		 "unitInfo":{"unitPrice":400,"quantity":"2.5","quantityUnit":"KG"},"discount":0,"isReturn":false,"isShipping":false},
		{"name":"Home delivery","id":"shipping_1","totalAmount":1000,"totalAmountExcludingTax":1000,"totalTaxAmount":0,"taxPercentage":0,
		 "discount":0,"isReturn":false,"isShipping":true}],
		"bottomLine":{"currency":"NOK","posId":"pos_122","receiptNumber":"123456789"}}`, nil)
	if status != http.StatusCreated {
		t.Fatalf("the receipt: %d %s", status, body)
	}
	status, body = e.raw(t, http.MethodGet, "/order-management/v2/ecom/"+orderID, nil, nil)
	if status != http.StatusOK || !strings.Contains(string(body), `"imageId":"`+imageID+`"`) || !strings.Contains(string(body), `"quantityUnit":"KG"`) {
		t.Fatalf("the order read back: %d %s", status, body)
	}
}
