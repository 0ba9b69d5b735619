package state

import "time"

// Abandoned reports whether an order never moved money: its payment's
// outcome is decided (failed, rejected, expired, cancelled before the
// buyer approved) and nothing was ever authorized, captured, cancelled
// or refunded, nor any operation tried. Only such orders are purged after
// the shop's abandoned retention (PurgeAbandoned): an order that moved any
// amount is the shop's accounts and is kept.
func (o *Order) Abandoned() bool {
	p := o.Payment
	return !o.Status.Pending() && p.Authorized == 0 && p.Captured == 0 && p.Cancelled == 0 && p.Refunded == 0 && len(o.Ops) == 0
}

// AbandonedStatuses are the statuses an abandoned order can have: the
// indexes PurgeAbandoned reads.
var AbandonedStatuses = []Status{StatusFailed, StatusAborted, StatusExpired, StatusCancelled}

// purgeable reports whether PurgeAbandoned may delete o: abandoned, and
// made before the cut-off.
func purgeable(o *Order, before time.Time) bool {
	return o.Abandoned() && o.CreatedAt.Before(before)
}

// PurgeableBefore is purgeable for the engines outside this package.
func PurgeableBefore(o *Order, before time.Time) bool { return purgeable(o, before) }

// forgetOrderIn is what deleting an abandoned order does to its link: it
// no longer counts among the link's orders, nor holds it.
func forgetOrderIn(l *Link, ref string) {
	if l.Orders > 0 {
		l.Orders--
	}
	if l.Holder == ref {
		l.Holder = ""
	}
}

// ForgetOrderIn is forgetOrderIn for the engines outside this package.
func ForgetOrderIn(l *Link, ref string) { forgetOrderIn(l, ref) }
