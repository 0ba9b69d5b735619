package sim_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/caddy-vipps/caddy-vipps/internal/qr/qrtest"
	"github.com/caddy-vipps/caddy-vipps/vipps"
	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

func get(t *testing.T, u string) (int, string, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

func qrCreate(ref string, format *vipps.QRFormat) vipps.CreatePaymentRequest {
	r := validCreate(ref)
	r.UserFlow, r.QRFormat, r.CustomerInteraction = vipps.UserFlowQR, format, vipps.CustomerPresent
	return r
}

// TestQRPaymentAnswersAQRCodeOfTheLandingPage: a QR payment's redirectUrl
// is an image of a QR code (SVG by default, PNG of the asked size) or the
// address itself; the code holds the landing page, where the buyer
// approves as in the app.
func TestQRPaymentAnswersAQRCodeOfTheLandingPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	resp, err := e.client.CreatePayment(ctx, "k1", qrCreate("ref-qr-svg-001", nil))
	if err != nil {
		t.Fatal(err)
	}
	status, ctype, img := get(t, resp.RedirectURL)
	if status != http.StatusOK || ctype != "image/svg+xml" {
		t.Fatalf("the QR image: %d %s", status, ctype)
	}
	landing, err := qrtest.DecodeSVG(img)
	if err != nil || !strings.HasPrefix(landing, e.srv.URL+"/landing?token=") {
		t.Fatalf("the SVG holds %q (%v), want the landing page", landing, err)
	}
	status, _, page := get(t, landing)
	if status != http.StatusOK || !strings.Contains(string(page), "499.00 NOK") || !strings.Contains(string(page), `id="approve"`) {
		t.Fatalf("the scanned code's page: %d\n%s", status, page)
	}
	size := 400
	resp, err = e.client.CreatePayment(ctx, "k2", qrCreate("ref-qr-png-001", &vipps.QRFormat{Format: vipps.QRFormatPNG, Size: &size}))
	if err != nil {
		t.Fatal(err)
	}
	status, ctype, img = get(t, resp.RedirectURL)
	if status != http.StatusOK || ctype != "image/png" {
		t.Fatalf("the PNG: %d %s", status, ctype)
	}
	if got, err := qrtest.DecodePNG(img); err != nil || !strings.HasPrefix(got, e.srv.URL+"/landing?token=") {
		t.Fatalf("the PNG holds %q (%v)", got, err)
	}
	resp, err = e.client.CreatePayment(ctx, "k3", qrCreate("ref-qr-url-001", &vipps.QRFormat{Format: vipps.QRFormatTargetURL}))
	if err != nil || !strings.HasPrefix(resp.RedirectURL, e.srv.URL+"/landing?token=") {
		t.Fatalf("TEXT/TARGETURL answered %+v %v", resp, err)
	}
	if status, _, _ := get(t, e.srv.URL+"/qr-image/v1?token=bogus"); status != http.StatusNotFound {
		t.Fatalf("an unknown QR token: %d", status)
	}
	// qrFormat's rules.
	for name, req := range map[string]vipps.CreatePaymentRequest{
		"qrFormat without QR": func() vipps.CreatePaymentRequest {
			r := validCreate("ref-qr-bad-001")
			r.QRFormat = &vipps.QRFormat{Format: vipps.QRFormatSVG}
			return r
		}(),
		"an unknown format":  qrCreate("ref-qr-bad-002", &vipps.QRFormat{Format: "IMAGE/GIF"}),
		"a PNG of 50 pixels": qrCreate("ref-qr-bad-004", &vipps.QRFormat{Format: vipps.QRFormatPNG, Size: new(50)}),
	} {
		if status, body := e.raw(t, http.MethodPost, "/epayment/v1/payments", req, map[string]string{"Idempotency-Key": req.Reference}); status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, status, body)
		}
	}
}

// TestPushMessageGoesToTheBuyersInbox: a PUSH_MESSAGE payment has no
// redirectUrl; it waits in the test buyer's inbox on the landing page,
// where the buyer opens and approves (or rejects) it, and stays there.
// A number without the app is 7010, a sales unit not approved for push
// 5080.
func TestPushMessageGoesToTheBuyersInbox(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	push := func(ref, phone string) vipps.CreatePaymentRequest {
		r := validCreate(ref)
		r.UserFlow, r.ReturnURL, r.Customer = vipps.UserFlowPushMessage, "", &vipps.Customer{PhoneNumber: phone}
		return r
	}
	for _, ref := range []string{"ref-push-0001", "ref-push-0002"} {
		resp, err := e.client.CreatePayment(ctx, ref, push(ref, "4791234567"))
		if err != nil || resp.RedirectURL != "" {
			t.Fatalf("push create: %+v %v", resp, err)
		}
	}
	if p, err := e.client.GetPayment(ctx, "ref-push-0001"); err != nil || p.RedirectURL != "" {
		t.Fatalf("a push payment shows a landing page: %+v %v", p, err)
	}
	_, _, page := get(t, e.srv.URL+"/landing?user=4791234567")
	inbox := string(page)
	if strings.Index(inbox, "ref-push-0002") > strings.Index(inbox, "ref-push-0001") || !strings.Contains(inbox, "499.00 NOK") {
		t.Fatalf("the inbox lists both, newest first:\n%s", inbox)
	}
	if _, _, other := get(t, e.srv.URL+"/landing?user=4512345678"); strings.Contains(string(other), "ref-push-0001") || !strings.Contains(string(other), `id="empty"`) {
		t.Fatalf("another buyer sees the push:\n%s", other)
	}
	i := strings.Index(inbox, `data-reference="ref-push-0001"`)
	j := strings.Index(inbox[i:], `href="/landing?token=`)
	token := inbox[i+j+len(`href="/landing?token=`):]
	token = token[:strings.IndexByte(token, '"')]
	_, _, opened := get(t, e.srv.URL+"/landing?token="+token)
	if !strings.Contains(string(opened), `id="push"`) || !strings.Contains(string(opened), `id="approve"`) {
		t.Fatalf("the push's page:\n%s", opened)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := noFollow.PostForm(e.srv.URL+"/landing/approve", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/landing?user=4791234567" {
		t.Fatalf("approving a push: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	if p, _ := e.sim.Payment("ref-push-0001"); p.State != vipps.StateAuthorized {
		t.Fatalf("after approval: %s", p.State)
	}
	if err := e.sim.Reject("ref-push-0002"); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.sim.Payment("ref-push-0002"); p.State != vipps.StateAborted {
		t.Fatalf("after rejection: %s", p.State)
	}
	_, _, page = get(t, e.srv.URL+"/landing?user=4791234567")
	if strings.Contains(string(page), "Open in the app") {
		t.Fatalf("answered pushes can still be opened:\n%s", page)
	}

	status, body := e.raw(t, http.MethodPost, "/epayment/v1/payments", push("ref-push-0003", "4799999999"), map[string]string{"Idempotency-Key": "k3"})
	if status != http.StatusBadRequest || errorCode(body) != "7010" {
		t.Fatalf("a push to a number without the app: %d %s", status, body)
	}
	e.sim.Configure(sim.Settings{PushDisabled: true})
	status, body = e.raw(t, http.MethodPost, "/epayment/v1/payments", push("ref-push-0004", "4791234567"), map[string]string{"Idempotency-Key": "k4"})
	if status != http.StatusBadRequest || errorCode(body) != "5080" {
		t.Fatalf("a push from a sales unit not approved for it: %d %s", status, body)
	}
}
