package sim_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/vipps"
	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

func withScope(ref, scope string) vipps.CreatePaymentRequest {
	r := validCreate(ref)
	r.Profile = &vipps.ProfileRequest{Scope: scope}
	return r
}

func expressCreate(ref string) vipps.CreatePaymentRequest {
	r := withScope(ref, "email name phoneNumber address")
	nok := func(v int64) vipps.Amount { return vipps.Amount{Currency: "NOK", Value: v} }
	r.Shipping = &vipps.Shipping{FixedOptions: []vipps.ShippingGroup{
		{Brand: "POSTEN", Type: vipps.ShippingTypeMailbox, IsDefault: true, Priority: 0,
			Options: []vipps.ShippingOption{{ID: "letter", Amount: nok(4900), Name: "Mailbox", IsDefault: true}}},
		{Brand: "OTHER", Type: vipps.ShippingTypeOther, Priority: 1,
			Options: []vipps.ShippingOption{{ID: "$flat_rate$home:3", Amount: nok(12900), Name: "Home delivery"}}},
		{Brand: "OTHER", Type: vipps.ShippingTypeOther, Priority: 2,
			Options: []vipps.ShippingOption{{ID: "pickup", Amount: nok(0), Name: "Pick up in store"}}},
	}}
	return r
}

func (e *env) create(t *testing.T, req vipps.CreatePaymentRequest) *vipps.CreatePaymentResponse {
	t.Helper()
	resp, err := e.client.CreatePayment(context.Background(), "key-"+req.Reference, req)
	if err != nil {
		t.Fatalf("create %s: %v", req.Reference, err)
	}
	return resp
}

func (e *env) get(t *testing.T, ref string) *vipps.Payment {
	t.Helper()
	p, err := e.client.GetPayment(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProfileSharedOnlyAfterConsentAndOnlyWhatWasAsked(t *testing.T) {
	e := newEnv(t)
	e.create(t, withScope("profile-000001", "name email"))
	if p := e.get(t, "profile-000001"); p.Profile.Sub != "" || p.UserDetails != nil {
		t.Fatalf("profile shared before approval: %+v %+v", p.Profile, p.UserDetails)
	}
	if err := e.sim.Approve("profile-000001"); err != nil {
		t.Fatal(err)
	}
	p := e.get(t, "profile-000001")
	if p.State != vipps.StateAuthorized || p.Profile.Sub == "" {
		t.Fatalf("state %s sub %q", p.State, p.Profile.Sub)
	}
	d := p.UserDetails
	if d == nil || d.FirstName != "Ada" || d.LastName != "Lovelace" || d.Email != "ada@example.com" {
		t.Fatalf("userDetails %+v", d)
	}
	if d.MobileNumber != "" || len(d.Addresses) != 0 {
		t.Fatalf("shared more than the scope: %+v", d)
	}
	// The same person gets the same sub in the next payment of this sales
	// unit.
	e.create(t, withScope("profile-000002", "address"))
	if err := e.sim.Approve("profile-000002"); err != nil {
		t.Fatal(err)
	}
	p2 := e.get(t, "profile-000002")
	if p2.Profile.Sub != p.Profile.Sub {
		t.Fatalf("sub changed between payments: %s, %s", p.Profile.Sub, p2.Profile.Sub)
	}
	if a := p2.UserDetails.Addresses; len(a) != 1 || a[0].City != "Oslo" || a[0].PostCode != "0154" {
		t.Fatalf("addresses %+v", a)
	}
	// A payment without scope shares nothing.
	e.create(t, validCreate("profile-000003"))
	_ = e.sim.Approve("profile-000003")
	if p3 := e.get(t, "profile-000003"); p3.Profile.Sub != "" || p3.UserDetails != nil {
		t.Fatalf("payment without scope shared %+v", p3.UserDetails)
	}
}

func TestProfileUserFollowsCurrencyAndCustomer(t *testing.T) {
	e := newEnv(t)
	dkk := withScope("profile-dkk-0001", "name")
	dkk.Amount = vipps.Amount{Currency: "DKK", Value: 10000}
	e.create(t, dkk)
	_ = e.sim.Approve(dkk.Reference)
	if d := e.get(t, dkk.Reference).UserDetails; d == nil || d.FirstName != "Karen" {
		t.Fatalf("a DKK payment is approved by the Danish test user, got %+v", d)
	}
	named := withScope("profile-named-01", "name")
	named.Customer = &vipps.Customer{PhoneNumber: "358401234567"}
	e.create(t, named)
	_ = e.sim.Approve(named.Reference)
	if d := e.get(t, named.Reference).UserDetails; d == nil || d.FirstName != "Tove" {
		t.Fatalf("the named customer approves, got %+v", d)
	}
	chosen := withScope("profile-chose-01", "name")
	e.create(t, chosen)
	if err := e.sim.ApproveWith(chosen.Reference, sim.Approval{User: "46701234567"}); err != nil {
		t.Fatal(err)
	}
	if d := e.get(t, chosen.Reference).UserDetails; d == nil || d.FirstName != "Greta" {
		t.Fatalf("the chosen user approves, got %+v", d)
	}
	if err := e.sim.ApproveWith(withScope("x", "").Reference, sim.Approval{User: "1"}); err == nil {
		t.Fatal("approving an unknown payment worked")
	}
}

func TestDecliningConsentAbortsThePayment(t *testing.T) {
	e := newEnv(t)
	e.create(t, withScope("consent-no-0001", "name email phoneNumber"))
	if err := e.sim.ApproveWith("consent-no-0001", sim.Approval{DeclineConsent: true}); err != nil {
		t.Fatal(err)
	}
	p := e.get(t, "consent-no-0001")
	if p.State != vipps.StateAborted || p.Aggregate.AuthorizedAmount.Value != 0 || p.UserDetails != nil || p.Profile.Sub != "" {
		t.Fatalf("after declining consent: state %s, authorized %d, details %+v", p.State, p.Aggregate.AuthorizedAmount.Value, p.UserDetails)
	}
}

func TestScopeValidation(t *testing.T) {
	e := newEnv(t)
	for scope, code := range map[string]string{"name shoeSize": "4080", "nin": "5030", "accountNumbers name": "5030", "openid": "4080"} {
		status, body := e.raw(t, "POST", "/epayment/v1/payments", withScope("scope-bad-"+strings.ReplaceAll(scope, " ", ""), scope), map[string]string{"Idempotency-Key": "k-" + scope})
		if status != 400 || errorCode(body) != code {
			t.Errorf("scope %q: %d %s, want 400 code %s", scope, status, body, code)
		}
	}
}

func (e *env) userinfo(t *testing.T, sub string, headers map[string]string) (int, []byte) {
	t.Helper()
	if headers == nil {
		headers = map[string]string{}
	}
	if _, ok := headers["Ocp-Apim-Subscription-Key"]; !ok {
		headers["Ocp-Apim-Subscription-Key"] = ""
	}
	return e.raw(t, "GET", "/vipps-userinfo-api/userinfo/"+sub, nil, headers)
}

func TestUserinfo(t *testing.T) {
	e := newEnvWith(t, sim.Options{StrictUserinfo: true})
	e.create(t, withScope("userinfo-000001", "name email phoneNumber address birthDate"))
	_ = e.sim.Approve("userinfo-000001")
	sub := e.get(t, "userinfo-000001").Profile.Sub

	u, err := e.client.Userinfo(context.Background(), sub)
	if err != nil {
		t.Fatal(err)
	}
	if u.Sub != sub || u.Name != "Ada Lovelace" || u.Email != "ada@example.com" || u.EmailVerified == nil || !*u.EmailVerified ||
		u.PhoneNumber != "4791234567" || u.BirthDate != "1985-12-10" || u.Address == nil || u.Address.Region != "OSLO" ||
		u.Address.Formatted != "Robert Levins gate 5\n0154 OSLO\nNO" {
		t.Fatalf("userinfo %+v address %+v", u, u.Address)
	}

	// Only consented claims.
	e.create(t, withScope("userinfo-000002", "email"))
	_ = e.sim.ApproveWith("userinfo-000002", sim.Approval{User: "4512345678"})
	sub2 := e.get(t, "userinfo-000002").Profile.Sub
	status, body := e.userinfo(t, sub2, nil)
	var claims map[string]any
	_ = json.Unmarshal(body, &claims)
	if status != 200 || claims["email"] != "karen@example.com" || claims["name"] != nil || claims["address"] != nil {
		t.Fatalf("userinfo for scope email: %d %s", status, body)
	}

	if status, _ := e.userinfo(t, sub, map[string]string{"Ocp-Apim-Subscription-Key": "sub-key"}); status != 401 {
		t.Errorf("strict mode with a subscription key: %d, want 401", status)
	}
	if status, _ := e.userinfo(t, sub, map[string]string{"Authorization": ""}); status != 401 {
		t.Errorf("no token: %d, want 401", status)
	}
	if status, _ := e.userinfo(t, "00000000-0000-0000-0000-000000000000", nil); status != 404 {
		t.Errorf("unknown sub: %d, want 404", status)
	}
	if status, _ := e.userinfo(t, sub, map[string]string{"Merchant-Serial-Number": "654321"}); status != 403 {
		t.Errorf("another sales unit's sub: %d, want 403", status)
	}
	e.clock.Advance(169 * time.Hour)
	fresh, err := vipps.New(vipps.Config{BaseURL: e.srv.URL, ClientID: "id", ClientSecret: "secret", SubscriptionKey: "sub-key",
		MerchantSerialNumber: "123456", RetryBaseDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Userinfo(context.Background(), sub); vipps.StatusCode(err) != 403 {
		t.Errorf("after 168 hours: %v, want 403", err)
	}
}

func TestProfileAppearsAfterProfileDelay(t *testing.T) {
	e := newEnvWith(t, sim.Options{ProfileDelay: 2 * time.Second})
	e.create(t, withScope("delayed-0000001", "name"))
	_ = e.sim.Approve("delayed-0000001")
	p := e.get(t, "delayed-0000001")
	if p.State != vipps.StateAuthorized || p.Profile.Sub != "" || p.UserDetails != nil {
		t.Fatalf("profile visible before the delay: %+v", p)
	}
	e.clock.Advance(2 * time.Second)
	if p := e.get(t, "delayed-0000001"); p.Profile.Sub == "" || p.UserDetails == nil {
		t.Fatalf("profile not visible after the delay: %+v", p)
	}
}

func TestExpressValidation(t *testing.T) {
	e := newEnv(t)
	mod := func(ref string, f func(r *vipps.CreatePaymentRequest)) vipps.CreatePaymentRequest {
		r := expressCreate(ref)
		f(&r)
		return r
	}
	tests := []struct {
		name, code string
		req        vipps.CreatePaymentRequest
	}{
		{"card", "4160", mod("express-bad-001", func(r *vipps.CreatePaymentRequest) { r.PaymentMethod.Type = "CARD" })},
		{"three scopes", "4080", mod("express-bad-002", func(r *vipps.CreatePaymentRequest) { r.Profile.Scope = "name email phoneNumber" })},
		{"no scope", "4080", mod("express-bad-003", func(r *vipps.CreatePaymentRequest) { r.Profile = nil })},
		{"no options", "", mod("express-bad-004", func(r *vipps.CreatePaymentRequest) { r.Shipping.FixedOptions = nil })},
		{"both kinds", "", mod("express-bad-005", func(r *vipps.CreatePaymentRequest) {
			r.Shipping.DynamicOptions = &vipps.DynamicOptions{CallbackURL: "https://shop.example/cb", CallbackAuthorizationToken: "t"}
		})},
		{"other currency", "", mod("express-bad-006", func(r *vipps.CreatePaymentRequest) { r.Shipping.FixedOptions[0].Options[0].Amount.Currency = "SEK" })},
		{"bad brand", "", mod("express-bad-007", func(r *vipps.CreatePaymentRequest) { r.Shipping.FixedOptions[0].Brand = "UPS" })},
		{"empty group", "", mod("express-bad-008", func(r *vipps.CreatePaymentRequest) { r.Shipping.FixedOptions[1].Options = nil })},
		{"duplicate id", "", mod("express-bad-009", func(r *vipps.CreatePaymentRequest) { r.Shipping.FixedOptions[1].Options[0].ID = "letter" })},
	}
	for _, tc := range tests {
		status, body := e.raw(t, "POST", "/epayment/v1/payments", tc.req, map[string]string{"Idempotency-Key": "k-" + tc.req.Reference})
		if status != 400 || errorCode(body) != tc.code {
			t.Errorf("%s: %d %s, want 400 with code %q", tc.name, status, body, tc.code)
		}
	}
	// Several OTHER/OTHER groups, as the official plugins send, are fine.
	e.create(t, expressCreate("express-ok-0001"))

	off := newEnvWith(t, sim.Options{ExpressDisabled: true})
	status, body := off.raw(t, "POST", "/epayment/v1/payments", expressCreate("express-off-001"), map[string]string{"Idempotency-Key": "k-off"})
	if status != 400 || errorCode(body) != "5020" {
		t.Errorf("express on a sales unit without it: %d %s", status, body)
	}
}

func TestExpressAuthorizesGoodsPlusChosenShipping(t *testing.T) {
	e := newEnv(t)
	e.create(t, expressCreate("express-def-001"))
	_ = e.sim.Approve("express-def-001")
	p := e.get(t, "express-def-001")
	if p.Aggregate.AuthorizedAmount.Value != 49900+4900 || p.Amount.Value != 49900+4900 {
		t.Fatalf("default option: authorized %d amount %d, want %d", p.Aggregate.AuthorizedAmount.Value, p.Amount.Value, 49900+4900)
	}
	sd := p.ShippingDetails
	if sd == nil || sd.ShippingOptionID != "letter" || sd.ShippingOptionName != "Mailbox" || sd.ShippingCost == nil || sd.ShippingCost.Value != 4900 ||
		sd.Address == nil || sd.Address.PostCode != "0154" {
		t.Fatalf("shippingDetails %+v", sd)
	}
	if p.UserDetails == nil || p.UserDetails.Email == "" || p.UserDetails.MobileNumber == "" || len(p.UserDetails.Addresses) != 1 {
		t.Fatalf("express shares all four scopes, got %+v", p.UserDetails)
	}

	e.create(t, expressCreate("express-home-01"))
	if err := e.sim.ApproveWith("express-home-01", sim.Approval{ShippingOption: "$flat_rate$home:3"}); err != nil {
		t.Fatal(err)
	}
	p = e.get(t, "express-home-01")
	if p.Aggregate.AuthorizedAmount.Value != 49900+12900 || p.ShippingDetails.ShippingOptionID != "$flat_rate$home:3" {
		t.Fatalf("chosen option: authorized %d, %+v", p.Aggregate.AuthorizedAmount.Value, p.ShippingDetails)
	}
	// The whole amount, shipping included, can be captured.
	if _, err := e.client.CapturePayment(context.Background(), "express-home-01", "cap-1-express-home", vipps.Amount{Currency: "NOK", Value: 49900 + 12900}); err != nil {
		t.Fatal(err)
	}

	e.create(t, expressCreate("express-none-01"))
	if err := e.sim.ApproveWith("express-none-01", sim.Approval{ShippingOption: "drone"}); err == nil {
		t.Fatal("an option the payment does not offer was accepted")
	}
	status, body := e.raw(t, "POST", "/epayment/v1/test/payments/express-none-01/approve", map[string]any{}, map[string]string{"Idempotency-Key": ""})
	if status != 400 {
		t.Fatalf("force approve of an Express payment: %d %s", status, body)
	}
}

// TestLandingPageConsentAndShipping drives the landing page as a browser
// would: it shows what is shared and the delivery options, and posting the
// form with a choice authorizes that choice; "Don't share" aborts.
func TestLandingPageConsentAndShipping(t *testing.T) {
	e := newEnv(t)
	resp := e.create(t, expressCreate("landing-exp-001"))
	page := fetch(t, resp.RedirectURL)
	for _, want := range []string{"Information you share", "Name", "Email address", "Phone number", "Address",
		"Mailbox", "Home delivery", "Pick up in store", `value="letter" checked`, "Approve and share", `id="decline"`} {
		if !strings.Contains(page, want) {
			t.Errorf("landing page lacks %q", want)
		}
	}
	token := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(page)[1]
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := noRedirect.PostForm(e.srv.URL+"/landing/approve", url.Values{"token": {token}, "shipping_option": {"pickup"}, "user": {"4512345678"}})
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	p := e.get(t, "landing-exp-001")
	if p.Aggregate.AuthorizedAmount.Value != 49900 || p.ShippingDetails.ShippingOptionID != "pickup" || p.UserDetails.FirstName != "Karen" {
		t.Fatalf("after the form: authorized %d, shipping %+v, user %+v", p.Aggregate.AuthorizedAmount.Value, p.ShippingDetails, p.UserDetails)
	}

	resp = e.create(t, withScope("landing-dec-001", "name"))
	page = fetch(t, resp.RedirectURL)
	token = regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(page)[1]
	r, err = noRedirect.PostForm(e.srv.URL+"/landing/decline", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if p := e.get(t, "landing-dec-001"); p.State != vipps.StateAborted {
		t.Fatalf("declining on the landing page left the payment %s", p.State)
	}

	// Without a scope there is no consent screen.
	resp = e.create(t, validCreate("landing-plain-01"))
	if page := fetch(t, resp.RedirectURL); strings.Contains(page, "Information you share") || strings.Contains(page, `id="decline"`) {
		t.Error("a payment without scope shows a consent screen")
	}
}

func fetch(t *testing.T, u string) string {
	t.Helper()
	r, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

func TestAuthorizedWebhookCarriesTheProfile(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t)
	reg, err := e.client.RegisterWebhook(context.Background(), rc.srv.URL, []string{vipps.EventAuthorized.WebhookEventType()})
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.secret = reg.Secret
	rc.mu.Unlock()
	e.create(t, withScope("hook-profile-01", "name phoneNumber"))
	_ = e.sim.Approve("hook-profile-01")
	deadline := time.Now().Add(5 * time.Second)
	for {
		rc.mu.Lock()
		got := append([]vipps.WebhookEvent(nil), rc.got...)
		rc.mu.Unlock()
		if len(got) > 0 {
			ev := got[0]
			if ev.Profile == nil || ev.Profile.Sub == "" || ev.UserDetails == nil || ev.UserDetails.FirstName != "Ada" || ev.UserDetails.MobileNumber != "4791234567" {
				t.Fatalf("authorized webhook: profile %+v details %+v", ev.Profile, ev.UserDetails)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no webhook")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSubOnlyLeavesDetailsToUserinfo(t *testing.T) {
	e := newEnvWith(t, sim.Options{SubOnly: true})
	e.create(t, withScope("subonly-0000001", "name email"))
	_ = e.sim.Approve("subonly-0000001")
	p := e.get(t, "subonly-0000001")
	if p.Profile.Sub == "" || p.UserDetails != nil {
		t.Fatalf("sub-only payment: sub %q details %+v", p.Profile.Sub, p.UserDetails)
	}
	u, err := e.client.Userinfo(context.Background(), p.Profile.Sub)
	if err != nil || u.Email != "ada@example.com" {
		t.Fatalf("userinfo %+v %v", u, err)
	}
	e.sim.Configure(sim.Settings{SubOnly: false})
	if p := e.get(t, "subonly-0000001"); p.UserDetails == nil {
		t.Fatal("settings did not switch sub-only off")
	}
}
