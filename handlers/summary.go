package handlers

import "github.com/caddy-vipps/caddy-vipps/state"

// orderSummary says what has become of a paid order's money, for its
// confirmation page: the page's title and a sentence per fact, derived
// from the amounts (authorized, captured, released, refunded) and never
// from the status word, so the page stays true after ships, cancels and
// refunds in any order.
func orderSummary(l *Lang, o *state.Order) (title string, lines []string) {
	p, cur := o.Payment, o.Currency
	money := func(minor int64) string { return l.Money(minor, cur) }
	switch {
	case p.Captured == 0 && p.Reserved() > 0:
		return l.T("confirmed.title"), []string{l.T("order.reserved", "amount", money(p.Reserved()))}
	case p.Captured == 0:
		return l.T("order.cancelled.title"), []string{l.T("order.cancelled", "amount", money(p.Cancelled))}
	case p.Refundable() == 0 && p.Reserved() == 0:
		lines = []string{l.T("order.refunded", "amount", money(p.Refunded))}
		if p.Cancelled > 0 {
			lines = append(lines, l.T("order.released", "amount", money(p.Cancelled)))
		}
		return l.T("order.refunded.title"), lines
	}
	if p.Reserved() > 0 {
		lines = []string{l.T("order.shipped.part"), l.T("order.charged", "amount", money(p.Captured)),
			l.T("order.reserved.rest", "amount", money(p.Reserved()))}
	} else {
		lines = []string{l.T("order.shipped"), l.T("order.charged", "amount", money(p.Captured))}
		if p.Cancelled > 0 {
			lines = append(lines, l.T("order.released", "amount", money(p.Cancelled)))
		}
	}
	if p.Refunded > 0 {
		lines = append(lines, l.T("order.refunded.part", "amount", money(p.Refunded)))
	}
	return l.T("confirmed.title"), lines
}
