package handlers

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddy-vipps/caddy-vipps/shop"
)

// TestStrictJSONNamesNestedFields: a field a body's type does not have, or
// a value of the wrong type, is named by its whole path as the client
// wrote it, down into the lines and with the line's index, also through
// an embedded struct; case is read as encoding/json reads it.
func TestStrictJSONNamesNestedFields(t *testing.T) {
	cases := []struct {
		body   string
		v      any
		fields []string
		field  string
		says   string
	}{
		{`{"lines":[{"sku":"socks","qtty":1}]}`, &shipBody{}, shipFields, "lines[0].qtty", `unknown field; this object takes "qty" or "sku"`},
		{`{"lines":[{"sku":"socks","qty":1},{"sku":"mug","qty":1,"price":5}]}`, &shipBody{}, shipFields, "lines[1].price", "unknown field"},
		{`{"lines":[{"sku":"mug","qty":"1"}]}`, &linkBody{}, linkFields, "lines[0].qty", "whole number"},
		{`{"lines":{"sku":"mug"}}`, &linkBody{}, linkFields, "lines", "list"},
		{`{"amount":"100"}`, &shipBody{}, shipFields, "amount", "whole number"},
		{`{"amount":100,"reusable":"yes"}`, &linkBody{}, linkFields, "reusable", "true or false"},
		{`{"amout":100}`, &shipBody{}, shipFields, "amout", "unknown field; this endpoint takes"},
		{`{"lines":[{"SKU":"socks","Qty":1,"qtty":2}]}`, &shipBody{}, shipFields, "lines[0].qtty", "unknown field"},
	}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodPost, "/vipps/orders/r/ship", strings.NewReader(c.body))
		r.Header.Set("Content-Type", "application/json")
		_, err := readStrictJSON(r, c.v, c.fields...)
		var in *shop.InputError
		if !errors.As(err, &in) || in.Field != c.field || !strings.Contains(in.Reason, c.says) {
			t.Errorf("%s: %#v", c.body, err)
		}
	}
	// Case aside, a line that has what it needs is read.
	r := httptest.NewRequest(http.MethodPost, "/vipps/orders/r/ship", strings.NewReader(`{"lines":[{"SKU":"socks","Qty":2}]}`))
	r.Header.Set("Content-Type", "application/json")
	var b shipBody
	if _, err := readStrictJSON(r, &b, shipFields...); err != nil || len(b.Lines) != 1 || b.Lines[0].Qty != 2 {
		t.Fatalf("a line in other case: %v %+v", err, b)
	}
}
