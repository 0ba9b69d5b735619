package shop

import (
	"slices"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// namedIn returns items with each catalog product named as language lang
// names it (see Product.NameIn). Lines that are no catalog product — a
// free amount, a delivery charged again, a product no longer sold — keep
// the name they were stored with.
func (c *Catalog) namedIn(items []state.Item, lang string) []state.Item {
	out := slices.Clone(items)
	for i, it := range out {
		if it.SKU == FreeAmountSKU || it.SKU == againShippingSKU {
			continue
		}
		if p, ok := c.Lookup(it.SKU); ok {
			out[i].Name = p.NameIn(lang)
		}
	}
	return out
}

// LinkIn is what a payment link sells, as a buyer reading language lang
// sees it: its lines named in lang, and its description too when it is
// the summary of its lines (a description the merchant wrote stays as
// written). Paying the link makes an order of these.
func (s *Service) LinkIn(l *state.Link, lang string) ([]state.Item, string) {
	items := s.catalog.namedIn(l.Items, lang)
	desc := l.Description
	if desc == fitDescription(summary(l.Items)) {
		desc = fitDescription(summary(items))
	}
	return items, desc
}
