package shop

import (
	"fmt"
	"time"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// The merchant's overview: what must be done, and how sales go.
const (
	// OverviewDays is how many days of sales the overview shows, today
	// included.
	OverviewDays = 30
	// OverviewListed is how many orders each list of the overview names
	// (the oldest); its count covers them all.
	OverviewListed = 10
	// UrgentWithin marks an order to ship whose reservation expires this
	// soon.
	UrgentWithin = 48 * time.Hour
)

// Overview is the merchant's daily view: orders to ship before their
// reservation expires, what needs a look, and the sales of the last 30
// days.
type Overview struct {
	// Currency of every amount, e.g. NOK.
	Currency string `json:"currency"`
	// TimeZone is the market's zone the days are counted in, e.g.
	// Europe/Oslo.
	TimeZone string `json:"time_zone"`
	// At is when the overview was read.
	At             time.Time      `json:"at"`
	ToShip         ToShip         `json:"to_ship"`
	NeedsAttention NeedsAttention `json:"needs_attention"`
	Sales          Sales          `json:"sales"`
}

// ToShip lists the orders with money reserved and not yet captured, oldest
// first: ship and capture them (or release them) before the reservation
// expires.
type ToShip struct {
	// Count is how many orders have money reserved.
	Count int `json:"count"`
	// Urgent is how many of the orders listed expire within two days.
	Urgent int `json:"urgent"`
	// Orders are the oldest of them, at most OverviewListed.
	Orders []ToShipOrder `json:"orders"`
}

// ToShipOrder is one order to ship.
type ToShipOrder struct {
	Reference string `json:"reference"`
	// Reserved is the amount reserved and not yet captured, in minor
	// units.
	Reserved int64     `json:"reserved"`
	Currency string    `json:"currency"`
	Created  time.Time `json:"created"`
	// CaptureDeadline is when Vipps lets the reservation expire (absent
	// while the time of authorization is unknown).
	CaptureDeadline time.Time `json:"capture_deadline,omitzero"`
	// Urgent is set when the deadline is less than two days away (or
	// passed).
	Urgent bool `json:"urgent"`
}

// NeedsAttention groups what may need the merchant's look.
type NeedsAttention struct {
	// UnknownOutcome: captures, releases and refunds sent to Vipps whose
	// outcome is not recorded yet; the shop keeps asking.
	UnknownOutcome AttentionGroup `json:"unknown_outcome"`
	// FailedJobs: background work the shop gave up on (notifications to
	// the merchant's system, receipts, buyer details).
	FailedJobs AttentionGroup `json:"failed_jobs"`
	// WaitingOnVipps: orders whose payment's outcome is still open at
	// Vipps (the buyer has not approved or rejected yet).
	WaitingOnVipps AttentionGroup `json:"waiting_on_vipps"`
}

// AttentionGroup is a count and the first few items.
type AttentionGroup struct {
	Count int             `json:"count"`
	Items []AttentionItem `json:"items"`
}

// AttentionItem is one order or job to look at.
type AttentionItem struct {
	Reference string `json:"reference"`
	// Kind is the job's kind (notify, receipt, operation, …) or the
	// order's status.
	Kind string `json:"kind"`
	// Since is when the order or the job was made.
	Since time.Time `json:"since"`
	// Attempts is how many times a job was tried.
	Attempts int `json:"attempts,omitempty"`
}

// Sales is the money moved per day in the market's zone.
type Sales struct {
	// Days are the last OverviewDays days, oldest first, today last.
	Days []SalesDay `json:"days"`
	// Today is today's row.
	Today SalesDay `json:"today"`
	// Week sums the last 7 days, today included.
	Week SalesDay `json:"week"`
}

// SalesDay is what one day (or the week) moved, in minor units.
type SalesDay struct {
	// Day is the date, YYYY-MM-DD (the week: its first day).
	Day      string `json:"day"`
	Captured int64  `json:"captured"`
	Refunded int64  `json:"refunded"`
	// Net is captured minus refunded.
	Net int64 `json:"net"`
	// Orders is how many orders were made.
	Orders int64 `json:"orders"`
}

func (d *SalesDay) add(o SalesDay) {
	d.Captured += o.Captured
	d.Refunded += o.Refunded
	d.Net += o.Net
	d.Orders += o.Orders
}

// Overview reads the merchant's overview at now. Each part reads an index
// or the ledger (state.Store.Ledger, state.Store.Oldest), never every
// order, so its cost does not grow with the shop's history.
func (s *Service) Overview(now time.Time) (*Overview, error) {
	currency := s.catalog.Currency()
	market := MarketOf(currency)
	zone, err := market.Zone()
	if err != nil {
		return nil, fmt.Errorf("overview: the market's zone %s: %w", market.TimeZone, err)
	}
	ov := &Overview{Currency: currency, TimeZone: market.TimeZone, At: now.UTC()}

	ship, n, err := s.store.Oldest(state.BacklogToShip, OverviewListed)
	if err != nil {
		return nil, fmt.Errorf("overview: orders to ship: %w", err)
	}
	ov.ToShip = ToShip{Count: n, Orders: []ToShipOrder{}}
	for _, o := range ship {
		t := ToShipOrder{Reference: o.Reference, Reserved: o.Payment.Reserved(), Currency: o.Currency, Created: o.CreatedAt,
			CaptureDeadline: o.Payment.CaptureDeadline}
		t.Urgent = !t.CaptureDeadline.IsZero() && t.CaptureDeadline.Sub(now) < UrgentWithin
		if t.Urgent {
			ov.ToShip.Urgent++
		}
		ov.ToShip.Orders = append(ov.ToShip.Orders, t)
	}

	if ov.NeedsAttention, err = s.needsAttention(); err != nil {
		return nil, err
	}
	if ov.Sales, err = s.sales(now, zone); err != nil {
		return nil, err
	}
	return ov, nil
}

// needsAttention reads the outbox (operations not settled yet, jobs given
// up on) and the orders waiting on Vipps.
func (s *Service) needsAttention() (NeedsAttention, error) {
	na := NeedsAttention{
		UnknownOutcome: AttentionGroup{Items: []AttentionItem{}},
		FailedJobs:     AttentionGroup{Items: []AttentionItem{}},
		WaitingOnVipps: AttentionGroup{Items: []AttentionItem{}},
	}
	addJob := func(g *AttentionGroup, j state.Job) {
		g.Count++
		if len(g.Items) < OverviewListed {
			g.Items = append(g.Items, AttentionItem{Reference: j.Ref, Kind: j.Kind, Since: j.CreatedAt, Attempts: j.Attempts})
		}
	}
	pending, err := s.store.PendingJobs()
	if err != nil {
		return na, fmt.Errorf("overview: the outbox: %w", err)
	}
	for _, j := range pending {
		if j.Kind == JobOperation {
			addJob(&na.UnknownOutcome, j)
		}
	}
	dead, err := s.store.DeadJobs()
	if err != nil {
		return na, fmt.Errorf("overview: the jobs given up on: %w", err)
	}
	for _, j := range dead {
		addJob(&na.FailedJobs, j)
	}
	waiting, n, err := s.store.Oldest(state.BacklogWaiting, OverviewListed)
	if err != nil {
		return na, fmt.Errorf("overview: orders waiting: %w", err)
	}
	na.WaitingOnVipps.Count = n
	for _, o := range waiting {
		na.WaitingOnVipps.Items = append(na.WaitingOnVipps.Items, AttentionItem{Reference: o.Reference, Kind: string(o.Status), Since: o.CreatedAt})
	}
	return na, nil
}

// Now is the time on the service's clock (see SetClock): the moment an
// overview is read at.
func (s *Service) Now() time.Time { return s.now() }

// sales sums the ledger's hours into the market's days.
func (s *Service) sales(now time.Time, zone *time.Location) (Sales, error) {
	local := now.In(zone)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, zone)
	first := today.AddDate(0, 0, -(OverviewDays - 1))
	rows, err := s.store.Ledger(first, today.AddDate(0, 0, 1))
	if err != nil {
		return Sales{}, fmt.Errorf("overview: the ledger: %w", err)
	}
	out := Sales{Days: make([]SalesDay, OverviewDays)}
	index := map[string]int{}
	for i := range out.Days {
		day := first.AddDate(0, 0, i).Format(time.DateOnly)
		out.Days[i].Day = day
		index[day] = i
	}
	for _, r := range rows {
		i, ok := index[r.Hour.In(zone).Format(time.DateOnly)]
		if !ok {
			continue
		}
		out.Days[i].add(SalesDay{Captured: r.Captured, Refunded: r.Refunded, Net: r.Captured - r.Refunded, Orders: r.Orders})
	}
	out.Today = out.Days[OverviewDays-1]
	out.Week.Day = out.Days[OverviewDays-7].Day
	for _, d := range out.Days[OverviewDays-7:] {
		out.Week.add(d)
	}
	return out, nil
}
