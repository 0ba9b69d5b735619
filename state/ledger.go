package state

import (
	"hash/fnv"
	"time"
)

// The ledger: money moved and orders made, summed per hour.
//
// Every change of an order's captured or refunded amount adds its
// difference to the ledger row of the hour it was made in, in the same
// transaction as the change itself, and every new order counts once in the
// row of the hour it was made in. So the ledger always agrees with the
// orders, and a read of the sales of a month costs a few hundred rows, not
// a look at every order.
//
// Rows are kept per UTC hour, not per day: the day of a sale depends on
// the shop's time zone, which the store does not know (and a shop may
// change its currency, and with it its market). Every market the shop
// sells in is a whole number of hours from UTC, so the hours of a local
// day are exactly its sales; the shop sums them (see shop.Overview).

// LedgerRow is the money moved and the orders made in one hour.
type LedgerRow struct {
	// Hour is the start of the hour, in UTC.
	Hour time.Time `json:"hour"`
	// Captured is the amount captured in the hour, in minor units.
	Captured int64 `json:"captured"`
	// Refunded is the amount refunded in the hour, in minor units.
	Refunded int64 `json:"refunded"`
	// Orders is how many orders were made in the hour.
	Orders int64 `json:"orders"`
}

// Empty reports whether the row moves nothing.
func (r LedgerRow) Empty() bool { return r.Captured == 0 && r.Refunded == 0 && r.Orders == 0 }

// LedgerHour is the start of the UTC hour t is in.
func LedgerHour(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

// LedgerChange is what a write of an order adds to the ledger: the
// difference of its captured and refunded amounts between before and
// after, in the hour at; a new order (before == nil) counts as one order,
// in the hour it was made in.
func LedgerChange(before, after *Order, at time.Time) LedgerRow {
	r := LedgerRow{Hour: LedgerHour(at), Captured: after.Payment.Captured, Refunded: after.Payment.Refunded}
	if before == nil {
		r.Hour = LedgerHour(after.CreatedAt)
		r.Orders = 1
		return r
	}
	r.Captured -= before.Payment.Captured
	r.Refunded -= before.Payment.Refunded
	return r
}

// LedgerOf is what an order adds to the ledger when its rows are rebuilt
// from the orders (stores that had no ledger yet, and Import): the order in
// the hour it was made; its captured amount in the hour its history first
// names it captured (or partially captured), its refunded amount in the
// hour its history first names it refunded (or partially refunded). This
// is an approximation: a history does not keep amounts, so several
// partial captures all count at the first, and an order whose history was
// shortened (see Options.HistoryLimit) or never named the status counts at
// its last change (UpdatedAt).
func LedgerOf(o *Order) []LedgerRow {
	rows := []LedgerRow{{Hour: LedgerHour(o.CreatedAt), Orders: 1}}
	at := func(statuses ...Status) time.Time {
		for _, h := range o.History {
			for _, st := range statuses {
				if h.To == st && h.From != h.To {
					return h.At
				}
			}
		}
		if !o.UpdatedAt.IsZero() {
			return o.UpdatedAt
		}
		return o.CreatedAt
	}
	if c := o.Payment.Captured; c != 0 {
		rows = append(rows, LedgerRow{Hour: LedgerHour(at(StatusPartiallyCaptured, StatusCaptured)), Captured: c})
	}
	if r := o.Payment.Refunded; r != 0 {
		rows = append(rows, LedgerRow{Hour: LedgerHour(at(StatusPartiallyRefunded, StatusRefunded)), Refunded: r})
	}
	return rows
}

// LedgerShards is how many rows each hour's sums are split into, an
// order's changes always landing in the row its reference hashes to
// (LedgerShard): two transactions that add to the same row wait for each
// other (PostgreSQL's row lock, held until commit) or conflict (Badger,
// which then runs one again), and buyers paying at the same moment seldom
// meet on one of eight. A read sums them.
const LedgerShards = 8

// LedgerShard is the row of an hour's sums an order's changes land in.
func LedgerShard(ref string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(ref))
	return int(h.Sum32() % LedgerShards)
}

// add sums another row of the same hour into r.
func (r *LedgerRow) add(o LedgerRow) {
	r.Captured += o.Captured
	r.Refunded += o.Refunded
	r.Orders += o.Orders
}

// Backlog names a list of orders the merchant has to act on or watch,
// read oldest first (see Store.Oldest).
type Backlog string

// Backlogs.
const (
	// BacklogToShip: orders with money reserved and not yet captured
	// (Payment.Reserved() > 0), to be shipped and captured, or released,
	// before the reservation expires.
	BacklogToShip Backlog = "to_ship"
	// BacklogWaiting: orders whose payment's outcome is still open
	// (new or pending): the shop waits on Vipps, and the buyer there.
	BacklogWaiting Backlog = "waiting"
)
