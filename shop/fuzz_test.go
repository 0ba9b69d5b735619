package shop

import (
	"errors"
	"testing"
)

// FuzzParseCatalog: any bytes either fail to parse or give products that
// NewCatalog validates without panicking; a valid catalog prices its own
// products at their catalog prices.
func FuzzParseCatalog(f *testing.F) {
	f.Add([]byte(`{"currency":"NOK","products":[{"sku":"socks","name":"Wool socks","price":14900,"vat":25}]}`))
	f.Add([]byte(`{"products":[{"sku":"a","name":"A","price":1},{"sku":"b","name":"B","price":65000000,"vat":0}]}`))
	f.Add([]byte(`{"products":[{"sku":"a","name":"A","price":-1,"vat":1e308}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cf, err := ParseCatalog(data)
		if err != nil {
			return
		}
		for _, cur := range Currencies {
			c, err := NewCatalog(cur, cf.Products)
			if err != nil {
				continue
			}
			for _, p := range c.Products() {
				items, total, err := c.Price([]CartLine{{SKU: p.SKU, Qty: 1}}, "")
				if err != nil || total != p.Price || len(items) != 1 || items[0].UnitPrice != p.Price {
					t.Fatalf("pricing %q: %v, %d, %v", p.SKU, items, total, err)
				}
			}
		}
	})
}

// FuzzPrice: pricing never panics, never returns a negative or oversized
// total, and every refusal is an InputError.
func FuzzPrice(f *testing.F) {
	f.Add("socks", 1, "mug", 2)
	f.Add("socks", -1, "nope", 0)
	f.Add("", 1<<62, "book", 1<<31)
	c, err := NewCatalog("NOK", []Product{
		{SKU: "socks", Name: "Wool socks", Price: 14900},
		{SKU: "mug", Name: "Coffee mug", Price: 19900},
		{SKU: "book", Name: "Cookbook", Price: 34900},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, sku1 string, qty1 int, sku2 string, qty2 int) {
		items, total, err := c.Price([]CartLine{{SKU: sku1, Qty: qty1}, {SKU: sku2, Qty: qty2}}, "")
		if err != nil {
			var in *InputError
			if !errors.As(err, &in) {
				t.Fatalf("error %v is not an InputError", err)
			}
			return
		}
		var sum int64
		for _, it := range items {
			if it.Qty < 1 || it.Qty > MaxQty {
				t.Fatalf("quantity %d accepted", it.Qty)
			}
			sum += it.UnitPrice * int64(it.Qty)
		}
		if total <= 0 || total > MaxAmount || sum != total {
			t.Fatalf("total %d, sum %d", total, sum)
		}
	})
}
