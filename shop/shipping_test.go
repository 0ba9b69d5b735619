package shop

import (
	"strings"
	"testing"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

func TestSetShipping(t *testing.T) {
	c, err := NewCatalog("NOK", []Product{{SKU: "socks", Name: "Socks", Price: 14900}})
	if err != nil {
		t.Fatal(err)
	}
	vat := 12.0
	bad := []struct {
		opts []ShippingOption
		want string
	}{
		{[]ShippingOption{{ID: "", Name: "x"}}, "id must be"},
		{[]ShippingOption{{ID: strings.Repeat("x", 101), Name: "x"}}, "id must be"},
		{[]ShippingOption{{ID: "a", Name: " "}}, "name must be"},
		{[]ShippingOption{{ID: "a", Name: "A", Price: -1}}, "price -1"},
		{[]ShippingOption{{ID: "a", Name: "A", Price: MaxAmount + 1}}, "price"},
		{[]ShippingOption{{ID: "a", Name: "A", VAT: &[]float64{17}[0]}}, "not a rate used"},
		{[]ShippingOption{{ID: "a", Name: "A", Brand: "UPS"}}, "unknown brand"},
		{[]ShippingOption{{ID: "a", Name: "A", Type: "DRONE"}}, "unknown type"},
		{[]ShippingOption{{ID: "a", Name: "A"}, {ID: "a", Name: "B"}}, "listed twice"},
		{[]ShippingOption{{ID: "a", Name: "A", Default: true}, {ID: "b", Name: "B", Default: true}}, "only one"},
	}
	for _, tc := range bad {
		if err := c.SetShipping(tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SetShipping(%+v) = %v, want %q", tc.opts, err, tc.want)
		}
	}
	if err := c.SetShipping([]ShippingOption{{ID: "letter", Name: "Letter", Price: 4900, VAT: &vat}, {ID: "$flat_rate$home:3", Name: "Home", Price: 9900, Brand: "POSTEN", Type: vipps.ShippingTypeHome}}); err != nil {
		t.Fatal(err)
	}
	groups := c.fixedOptions()
	if len(groups) != 2 || !groups[0].IsDefault || groups[1].IsDefault || groups[0].Brand != "OTHER" || groups[0].Type != "OTHER" ||
		groups[1].Brand != "POSTEN" || groups[1].Priority != 1 || groups[1].Options[0].Amount != (vipps.Amount{Currency: "NOK", Value: 9900}) {
		t.Fatalf("fixed options %+v", groups)
	}
	if c.maxShipping() != 9900 {
		t.Fatalf("max shipping %d", c.maxShipping())
	}
}

func TestChosenShipping(t *testing.T) {
	c, _ := NewCatalog("NOK", []Product{{SKU: "socks", Name: "Socks", Price: 14900}})
	vat := 12.0
	_ = c.SetShipping([]ShippingOption{{ID: "letter", Name: "Letter", Price: 4900, VAT: &vat}})
	o := &state.Order{Currency: "NOK", Amount: 14900}
	p := &vipps.Payment{Aggregate: vipps.Aggregate{AuthorizedAmount: vipps.Amount{Currency: "NOK", Value: 14900 + 4900}},
		ShippingDetails: &vipps.ShippingDetails{ShippingOptionID: "letter", ShippingOptionName: "Brev"}}
	sh := c.chosenShipping(o, p)
	if sh == nil || sh.Amount != 4900 || sh.Name != "Letter" || sh.VATRate != 1200 {
		t.Fatalf("known option without cost: %+v", sh)
	}
	p.ShippingDetails = &vipps.ShippingDetails{ShippingOptionID: "gone", ShippingOptionName: "Old option", ShippingCost: &vipps.Amount{Currency: "NOK", Value: 3900}}
	sh = c.chosenShipping(o, p)
	if sh == nil || sh.Amount != 3900 || sh.Name != "Old option" || sh.VATRate != 2500 {
		t.Fatalf("unknown option with a cost: %+v", sh)
	}
	if c.chosenShipping(o, &vipps.Payment{}) != nil {
		t.Fatal("a payment without shipping details has a delivery")
	}
}

func TestReceiptHasShippingLine(t *testing.T) {
	o := &state.Order{Reference: "r", Currency: "NOK", Items: []state.Item{{SKU: "book", Name: "Book", Qty: 1, UnitPrice: 34900, VATRate: 0}},
		Shipping: &state.Shipping{OptionID: "home", Name: "Home delivery", Amount: 9900, VATRate: 2500}}
	r := BuildReceipt(o)
	if len(r.OrderLines) != 2 {
		t.Fatalf("lines %+v", r.OrderLines)
	}
	l := r.OrderLines[1]
	if !l.IsShipping || l.ID != "home" || l.TotalAmount != 9900 || l.TotalTaxAmount != 1980 || l.TotalAmountExcludingTax != 7920 || *l.TaxRate != 2500 {
		t.Fatalf("shipping line %+v", l)
	}
}

func TestParseCollect(t *testing.T) {
	got, err := ParseCollect([]string{"phone", "Email", "name", "phone"})
	if err != nil || strings.Join(got, " ") != "name email phoneNumber" {
		t.Fatalf("ParseCollect = %v, %v", got, err)
	}
	for _, bad := range []string{"nin", "birthDate", "phoneNumber", ""} {
		if _, err := ParseCollect([]string{bad}); err == nil {
			t.Errorf("ParseCollect(%q) accepted", bad)
		}
	}
	s := &Service{cfg: Config{Collect: []string{"email"}}}
	s.catalog, _ = NewCatalog("NOK", []Product{{SKU: "poster", Name: "Poster", Price: 100, Collect: []string{"address", "name"}}, {SKU: "ebook", Name: "E-book", Price: 100}})
	if got := s.scopeFor([]state.Item{{SKU: "poster"}, {SKU: "ebook"}}, false); got != "name address email" {
		t.Fatalf("scope with a product that asks for more: %q", got)
	}
	if got := s.scopeFor([]state.Item{{SKU: "ebook"}}, false); got != "email" {
		t.Fatalf("scope of the shop: %q", got)
	}
	if got := s.scopeFor([]state.Item{{SKU: "ebook"}}, true); got != vipps.ExpressScope {
		t.Fatalf("express scope: %q", got)
	}
	if _, err := NewCatalog("NOK", []Product{{SKU: "x", Name: "X", Price: 1, Collect: []string{"shoesize"}}}); err == nil {
		t.Fatal("a product collecting an unknown detail was accepted")
	}
}

func TestBuyerFromDetails(t *testing.T) {
	prev := &state.Buyer{Phone: "4712345678"}
	b := buyerFrom(prev, "sub-1", &vipps.UserDetails{FirstName: "Ada", LastName: "Lovelace", Email: "a@example.com",
		Addresses: []vipps.Address{{AddressLine1: "Home 1", PostCode: "0001", City: "Oslo", Country: "NO"}}},
		&vipps.ShippingDetails{Address: &vipps.Address{AddressLine1: "Work 2", AddressLine2: "c/o Office", PostCode: "0154", City: "Oslo", Country: "NO"}})
	if b.Sub != "sub-1" || b.Name != "Ada Lovelace" || b.Phone != "4712345678" || strings.Join(b.Address, "|") != "Work 2|c/o Office" || b.PostCode != "0154" {
		t.Fatalf("buyer %+v", b)
	}
	u := userDetailsFrom(&vipps.Userinfo{Name: "Ada Lovelace", Email: "a@example.com", Address: &vipps.UserinfoAddress{StreetAddress: "S 1", PostalCode: "1", Region: "OSLO", Country: "NO"}})
	if u.FirstName != "Ada Lovelace" || u.Addresses[0].City != "OSLO" {
		t.Fatalf("from userinfo %+v", u)
	}
}

func TestParseCatalogWithShippingAndCollect(t *testing.T) {
	f, err := ParseCatalog([]byte(`{"currency":"NOK","collect":["email"],
		"products":[{"sku":"poster","name":"Poster","price":19900,"collect":["address"]}],
		"shipping":[{"id":"home","name":"Home delivery","price":9900,"default":true,"brand":"POSTEN","type":"HOME_DELIVERY","estimated_delivery":"2-3 days"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Shipping) != 1 || f.Shipping[0].EstimatedDelivery != "2-3 days" || f.Collect[0] != "email" || f.Products[0].Collect[0] != "address" {
		t.Fatalf("parsed %+v", f)
	}
}
