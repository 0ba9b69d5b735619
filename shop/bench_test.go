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
		if _, _, err := c.Price(cart, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckout is a whole checkout on real parts: the cart priced,
// the order stored (one synced Badger commit), the create sent to the
// simulator over HTTP and its answer recorded. The simulator runs in the
// same process, so its work is counted too.
func BenchmarkCheckout(b *testing.B) {
	h := newHarness(b)
	req := CheckoutRequest{Lines: []CartLine{{SKU: "socks", Qty: 2}, {SKU: "mug", Qty: 1}}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.svc.Checkout(bg, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
