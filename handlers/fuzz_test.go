package handlers

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddy-vipps/caddy-vipps/shop"
)

// FuzzReadCheckout: any body under any of the accepted content types either
// is refused with a typed error (which the handler maps to a 4xx) or gives
// cart lines; it never panics.
func FuzzReadCheckout(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", []byte("sku=socks&qty=2&sku=mug&qty=1&phone=4791234567"))
	f.Add("application/json", []byte(`{"items":[{"sku":"socks","qty":2}],"phone":"4791234567"}`))
	f.Add("application/json", []byte(`{"items":[{"sku":"socks","qty":1e99}]}`))
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"sku\"\r\n\r\nsocks\r\n--x--\r\n"))
	f.Add("text/plain", []byte("sku=socks"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/vipps/checkout", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		w := httptest.NewRecorder()
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		req, err := readCheckout(r)
		if err != nil {
			var in *shop.InputError
			var tooBig *http.MaxBytesError
			if !errors.As(err, &in) && !errors.Is(err, errUnsupportedType) && !errors.As(err, &tooBig) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(req.Lines) > 0 && req.Lines[0].SKU == "" && req.Lines[0].Qty == 0 && contentType == "" {
			t.Fatal("lines from nothing")
		}
	})
}

// FuzzReadStrictJSON: any merchant body under any content type is either
// refused with a typed error (a 4xx) or read into a body whose amount, when
// given, was a JSON integer; an empty body is reported as empty; it never
// panics, for any list of accepted fields.
func FuzzReadStrictJSON(f *testing.F) {
	f.Add("application/json", []byte(`{"amount":10000}`), 2)
	f.Add("application/json", []byte(`{"amount":100.5,"all":true}`), 2)
	f.Add("application/json", []byte(`{"lines":[{"sku":"socks","qty":1}],"final":true}`), 5)
	f.Add("application/json", []byte(`null`), 0)
	f.Add("application/json", []byte(`{}`), 0)
	f.Add("application/x-www-form-urlencoded", []byte(`{"amount":1}`), 1)
	f.Add("application/json", []byte(`{"amount":1}{"amount":2}`), 1)
	f.Fuzz(func(t *testing.T, contentType string, body []byte, nFields int) {
		r := httptest.NewRequest(http.MethodPost, "/vipps/orders/r/ship", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		w := httptest.NewRecorder()
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		var v shipBody
		fields := shipFields[:max(0, min(nFields, len(shipFields)))]
		empty, err := readStrictJSON(r, &v, fields...)
		if err != nil {
			var in *shop.InputError
			var tooBig *http.MaxBytesError
			if !errors.As(err, &in) && !errors.Is(err, errUnsupportedType) && !errors.As(err, &tooBig) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if empty != (len(body) == 0) {
			t.Fatalf("empty %v for %d bytes", empty, len(body))
		}
	})
}
