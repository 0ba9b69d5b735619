package shop

import (
	"errors"
	"strings"
	"testing"
)

func vat(v float64) *float64 { return &v }

func TestNewCatalogValidation(t *testing.T) {
	ok := Product{SKU: "socks", Name: "Wool socks", Price: 14900}
	tests := []struct {
		name     string
		currency string
		products []Product
		wantErr  string
	}{
		{"valid default vat", "NOK", []Product{ok}, ""},
		{"valid reduced vat", "NOK", []Product{{SKU: "food", Name: "Bread", Price: 5000, VAT: vat(15)}}, ""},
		{"finnish 25.5", "EUR", []Product{{SKU: "x", Name: "X", Price: 100, VAT: vat(25.5)}}, ""},
		{"unknown currency", "USD", []Product{ok}, "not supported"},
		{"duplicate sku", "NOK", []Product{ok, ok}, "listed twice"},
		{"bad sku", "NOK", []Product{{SKU: "a b", Name: "X", Price: 1}}, "sku"},
		{"empty sku", "NOK", []Product{{SKU: "", Name: "X", Price: 1}}, "sku"},
		{"empty name", "NOK", []Product{{SKU: "x", Name: " ", Price: 1}}, "name is empty"},
		{"zero price", "NOK", []Product{{SKU: "x", Name: "X", Price: 0}}, "price"},
		{"negative price", "NOK", []Product{{SKU: "x", Name: "X", Price: -5}}, "price"},
		{"price over vipps max", "NOK", []Product{{SKU: "x", Name: "X", Price: MaxAmount + 1}}, "price"},
		{"vat not used in market", "NOK", []Product{{SKU: "x", Name: "X", Price: 1, VAT: vat(17)}}, "not a rate used with NOK"},
		{"danish reduced rate", "DKK", []Product{{SKU: "x", Name: "X", Price: 1, VAT: vat(15)}}, "not a rate used with DKK"},
		{"negative vat", "NOK", []Product{{SKU: "x", Name: "X", Price: 1, VAT: vat(-1)}}, "out of range"},
		{"names per language", "NOK", []Product{{SKU: "x", Name: "Socks", Names: map[string]string{"nb": "Sokker", "sv": "Strumpor"}, Price: 1}}, ""},
		{"empty name in a language", "NOK", []Product{{SKU: "x", Name: "X", Names: map[string]string{"nb": " "}, Price: 1}}, `sku "x": name in nb is empty`},
		{"long name in a language", "NOK", []Product{{SKU: "x", Name: "X", Names: map[string]string{"nb": strings.Repeat("x", 201)}, Price: 1}}, "name in nb is longer than 200 bytes"},
		{"bad language code", "NOK", []Product{{SKU: "x", Name: "X", Names: map[string]string{"NB-no": "Sokker"}, Price: 1}}, `name language "NB-no"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCatalog(tt.currency, tt.products)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if c.Len() != len(tt.products) {
					t.Fatalf("catalog has %d products, want %d", c.Len(), len(tt.products))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestCatalogDefaultVAT(t *testing.T) {
	for cur, want := range map[string]int{"NOK": 2500, "SEK": 2500, "DKK": 2500, "EUR": 2550} {
		c, err := NewCatalog(cur, []Product{{SKU: "x", Name: "X", Price: 100}})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := c.Lookup("x")
		if got := c.VATBasisPoints(p); got != want {
			t.Errorf("%s default vat = %d, want %d", cur, got, want)
		}
	}
}

func TestParseCatalog(t *testing.T) {
	f, err := ParseCatalog([]byte(`{"currency":"NOK","products":[{"sku":"mug","name":"Mug","price":19900,"vat":25}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Products) != 1 || f.Products[0].Price != 19900 || *f.Products[0].VAT != 25 {
		t.Fatalf("parsed %+v", f)
	}
	for _, bad := range []string{
		`{"products":[{"sku":"mug","name":"Mug","prise":19900}]}`,
		`{"products":[]} {}`,
		`{"products":[{"sku":"mug","price":"199"}]}`,
		`not json`,
	} {
		if _, err := ParseCatalog([]byte(bad)); err == nil {
			t.Errorf("ParseCatalog(%s) succeeded", bad)
		}
	}
}

// TestCatalogFileNames: a catalog file names products per language, and a
// product is named in the buyer's language where it has a name in it, in
// the shop's default language (Name) elsewhere.
func TestCatalogFileNames(t *testing.T) {
	f, err := ParseCatalog([]byte(`{"products":[
		{"sku":"socks","name":"Wool socks","names":{"nb":"Ullsokker","da":"Uldsokker"},"price":14900},
		{"sku":"mug","name":"Coffee mug","price":19900}]}`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCatalog("NOK", f.Products)
	if err != nil {
		t.Fatal(err)
	}
	socks, _ := c.Lookup("socks")
	mug, _ := c.Lookup("mug")
	for _, tc := range []struct {
		p          Product
		lang, want string
	}{
		{socks, "nb", "Ullsokker"}, {socks, "da", "Uldsokker"}, {socks, "en", "Wool socks"},
		{socks, "sv", "Wool socks"}, {socks, "", "Wool socks"}, {mug, "nb", "Coffee mug"},
	} {
		if got := tc.p.NameIn(tc.lang); got != tc.want {
			t.Errorf("%s in %q = %q, want %q", tc.p.SKU, tc.lang, got, tc.want)
		}
	}
	items, _, err := c.Price([]CartLine{{SKU: "socks", Qty: 2}, {SKU: "mug", Qty: 1}}, "nb")
	if err != nil {
		t.Fatal(err)
	}
	if items[0].Name != "Ullsokker" || items[1].Name != "Coffee mug" || summary(items) != "2 × Ullsokker, 1 × Coffee mug" {
		t.Fatalf("Norwegian order lines %+v", items)
	}
	if _, err := ParseCatalog([]byte(`{"products":[{"sku":"x","name":"X","price":1,"navn":{"nb":"Y"}}]}`)); err == nil {
		t.Error("a misspelt names field was accepted")
	}
}

func testCatalog(t *testing.T) *Catalog {
	t.Helper()
	c, err := NewCatalog("NOK", []Product{
		{SKU: "socks", Name: "Wool socks", Price: 14900, VAT: vat(25)},
		{SKU: "mug", Name: "Coffee mug", Price: 19900},
		{SKU: "book", Name: "Cookbook", Price: 34900, VAT: vat(0)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPrice(t *testing.T) {
	c := testCatalog(t)
	items, total, err := c.Price([]CartLine{{SKU: "socks", Qty: 2}, {SKU: "mug", Qty: 1}, {SKU: "socks", Qty: 1}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if total != 3*14900+19900 {
		t.Fatalf("total = %d", total)
	}
	if len(items) != 2 || items[0].SKU != "socks" || items[0].Qty != 3 || items[1].VATRate != 2500 {
		t.Fatalf("items = %+v", items)
	}

	bad := []struct {
		lines []CartLine
		field string
	}{
		{nil, "sku"},
		{[]CartLine{{SKU: "nope", Qty: 1}}, "sku"},
		{[]CartLine{{SKU: "socks", Qty: 0}}, "qty"},
		{[]CartLine{{SKU: "socks", Qty: -3}}, "qty"},
		{[]CartLine{{SKU: "socks", Qty: MaxQty + 1}}, "qty"},
		{[]CartLine{{SKU: "socks", Qty: MaxQty}, {SKU: "socks", Qty: 1}}, "qty"},
		{make([]CartLine, MaxCartLines+1), "sku"},
	}
	for _, b := range bad {
		_, _, err := c.Price(b.lines, "")
		var in *InputError
		if !errors.As(err, &in) || in.Field != b.field {
			t.Errorf("Price(%v) error = %v, want InputError on %s", b.lines, err, b.field)
		}
	}
}

func TestPriceTotalLimit(t *testing.T) {
	c, err := NewCatalog("NOK", []Product{{SKU: "gold", Name: "Gold bar", Price: MaxAmount / 2}})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Price([]CartLine{{SKU: "gold", Qty: 3}}, "")
	var in *InputError
	if !errors.As(err, &in) {
		t.Fatalf("error = %v, want InputError", err)
	}
}

func TestNewReference(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		r, err := NewReference("demo")
		if err != nil {
			t.Fatal(err)
		}
		if !ValidReference(r) || !strings.HasPrefix(r, "demo-") || len(r) != len("demo-")+20 {
			t.Fatalf("bad reference %q", r)
		}
		if seen[r] {
			t.Fatalf("duplicate reference %q", r)
		}
		seen[r] = true
	}
	if err := ValidatePrefix("shop-prod"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"1shop", "shop_x", strings.Repeat("a", 26), "a b"} {
		if ValidatePrefix(p) == nil {
			t.Errorf("ValidatePrefix(%q) accepted", p)
		}
	}
}
