package shop

import (
	"fmt"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// CartLine is one line of a buyer's cart as the browser sends it: only a SKU
// and a quantity. Prices never come from the browser.
type CartLine struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

// Limits on what one checkout may contain.
const (
	MaxQty       = 999
	MaxCartLines = 50
)

// Price turns cart lines into priced order items using only the catalog,
// each named in the buyer's language lang (see Product.NameIn): the order
// keeps the names its buyer saw. Lines with the same SKU are merged. It returns an InputError naming the
// problem for an empty cart, an unknown SKU, or a quantity outside 1..MaxQty,
// and for a total over what Vipps accepts.
func (c *Catalog) Price(lines []CartLine, lang string) ([]state.Item, int64, error) {
	if len(lines) == 0 {
		return nil, 0, &InputError{Field: "sku", Code: CodeEmptyCart, Reason: "the cart is empty"}
	}
	if len(lines) > MaxCartLines {
		return nil, 0, &InputError{Field: "sku", Code: CodeTooManyLines, Reason: fmt.Sprintf("at most %d lines per order", MaxCartLines)}
	}
	var items []state.Item
	index := map[string]int{}
	var total int64
	for _, l := range lines {
		p, ok := c.Lookup(l.SKU)
		if !ok {
			return nil, 0, &InputError{Field: "sku", Code: CodeUnknownProduct, Reason: fmt.Sprintf("unknown product %q", truncate(l.SKU, 64))}
		}
		if l.Qty < 1 || l.Qty > MaxQty {
			return nil, 0, &InputError{Field: "qty", Code: CodeQuantity, Reason: fmt.Sprintf("quantity of %q must be between 1 and %d", p.SKU, MaxQty)}
		}
		if i, seen := index[p.SKU]; seen {
			items[i].Qty += l.Qty
			if items[i].Qty > MaxQty {
				return nil, 0, &InputError{Field: "qty", Code: CodeQuantity, Reason: fmt.Sprintf("quantity of %q must be between 1 and %d", p.SKU, MaxQty)}
			}
		} else {
			index[p.SKU] = len(items)
			items = append(items, state.Item{SKU: p.SKU, Name: p.NameIn(lang), Qty: l.Qty, UnitPrice: p.Price, VATRate: c.VATBasisPoints(p)})
		}
		total += p.Price * int64(l.Qty)
		if total > MaxAmount {
			return nil, 0, &InputError{Field: "qty", Code: CodeTotalTooLarge, Reason: "the order total is larger than a Vipps payment may be"}
		}
	}
	return items, total, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) > n {
		r = r[:n]
	}
	return string(r)
}
