package shop

import "testing"

func BenchmarkPriceCart(b *testing.B) {
	c, err := NewCatalog("NOK", []Product{
		{SKU: "socks", Name: "Wool socks", Price: 14900},
		{SKU: "mug", Name: "Coffee mug", Price: 19900},
		{SKU: "book", Name: "Cookbook", Price: 34900},
	})
	if err != nil {
		b.Fatal(err)
	}
	cart := []CartLine{{SKU: "socks", Qty: 2}, {SKU: "mug", Qty: 1}, {SKU: "book", Qty: 1}}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.Price(cart); err != nil {
			b.Fatal(err)
		}
	}
}
