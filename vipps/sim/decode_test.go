package sim_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// TestNumbersAsReferenceAndPhoneNumber: Vipps' own published examples send
// reference and customer.phoneNumber as JSON numbers, and Vipps takes
// them; they are read as their decimal digits and then checked like
// strings.
func TestNumbersAsReferenceAndPhoneNumber(t *testing.T) {
	e := newEnv(t)
	create := func(key, body string) (int, []byte) {
		return e.raw(t, http.MethodPost, "/epayment/v1/payments", body, map[string]string{"Idempotency-Key": key})
	}
	status, body := create("num-1", `{"amount":{"currency":"NOK","value":49900},"paymentMethod":{"type":"WALLET"},
		"customer":{"phoneNumber":4791234567},"reference":12345678901,"userFlow":"WEB_REDIRECT",
		"returnUrl":"https://shop.example/return","paymentDescription":"One pair of socks"}`)
	if status != http.StatusCreated {
		t.Fatalf("create with numbers: %d %s", status, body)
	}
	var resp vipps.CreatePaymentResponse
	if err := json.Unmarshal(body, &resp); err != nil || resp.Reference != "12345678901" {
		t.Fatalf("answer %s", body)
	}
	p, ok := e.sim.Payment("12345678901")
	if !ok || !p.Phone {
		t.Fatalf("payment %+v %v: want the reference and the phone number as strings", p, ok)
	}
	// An exponent is read as the whole number it is.
	if status, body := create("num-2", `{"amount":{"currency":"NOK","value":49900},"paymentMethod":{"type":"WALLET"},
		"reference":1.2345678902e10,"userFlow":"WEB_REDIRECT","returnUrl":"https://shop.example/return"}`); status != http.StatusCreated ||
		!strings.Contains(string(body), `"reference":"12345678902"`) {
		t.Fatalf("exponent: %d %s", status, body)
	}
	// Then the rules for strings apply: too short, not a whole number, not
	// an MSISDN.
	for _, c := range []struct{ body, field, code string }{
		{`{"amount":{"currency":"NOK","value":49900},"paymentMethod":{"type":"WALLET"},"reference":1234,"userFlow":"WEB_REDIRECT","returnUrl":"https://shop.example/r"}`, "reference", ""},
		{`{"amount":{"currency":"NOK","value":49900},"paymentMethod":{"type":"WALLET"},"reference":12345678.5,"userFlow":"WEB_REDIRECT","returnUrl":"https://shop.example/r"}`, "reference", ""},
		{`{"amount":{"currency":"NOK","value":49900},"paymentMethod":{"type":"WALLET"},"reference":"num-ref-0003","customer":{"phoneNumber":479123},"userFlow":"WEB_REDIRECT","returnUrl":"https://shop.example/r"}`, "", "4070"},
		{`{"amount":{"currency":"NOK","value":49900},"paymentMethod":{"type":"WALLET"},"reference":true,"userFlow":"WEB_REDIRECT","returnUrl":"https://shop.example/r"}`, "reference", ""},
	} {
		status, body := create("bad-"+c.body[len(c.body)-40:], c.body)
		if status != http.StatusBadRequest || errorCode(body) != c.code || (c.field != "" && !strings.Contains(string(body), `"name":"`+c.field+`"`)) {
			t.Fatalf("%s: %d %s; want 400 naming %q with code %q", c.body, status, body, c.field, c.code)
		}
	}
}

// TestDecimalAmountIsInvalidAmount: an amount with decimals is Vipps' 4040
// "Invalid amount" on create, capture and refund, not a type error.
func TestDecimalAmountIsInvalidAmount(t *testing.T) {
	e := newEnv(t)
	e.create(t, validCreate("decimal-00001"))
	if err := e.sim.Approve("decimal-00001"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, body string }{
		{"/epayment/v1/payments", `{"amount":{"currency":"NOK","value":499.5},"paymentMethod":{"type":"WALLET"},"reference":"decimal-00002","userFlow":"WEB_REDIRECT","returnUrl":"https://shop.example/r"}`},
		{"/epayment/v1/payments/decimal-00001/capture", `{"modificationAmount":{"currency":"NOK","value":100.25}}`},
		{"/epayment/v1/payments/decimal-00001/refund", `{"modificationAmount":{"currency":"NOK","value":1e2}}`},
	} {
		status, body := e.raw(t, http.MethodPost, c.path, c.body, map[string]string{"Idempotency-Key": "dec-" + c.path[len(c.path)-6:]})
		if status != http.StatusBadRequest || errorCode(body) != "4040" || !strings.Contains(string(body), `"title":"Invalid amount"`) {
			t.Fatalf("%s: %d %s", c.path, status, body)
		}
	}
	if p := e.get(t, "decimal-00001"); p.Aggregate.CapturedAmount.Value != 0 {
		t.Fatalf("captured %d", p.Aggregate.CapturedAmount.Value)
	}
	// A string where the amount's number belongs stays a type error.
	status, body := e.raw(t, http.MethodPost, "/epayment/v1/payments/decimal-00001/capture", `{"modificationAmount":{"currency":"NOK","value":"100"}}`,
		map[string]string{"Idempotency-Key": "dec-string"})
	if status != http.StatusBadRequest || errorCode(body) != "" || !strings.Contains(string(body), "modificationAmount.value") {
		t.Fatalf("string amount: %d %s", status, body)
	}
}
