package shop

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// The read budget: Vipps allows 120 reads of a payment a minute, and the
// pages that read it (the return page, the order page and its JSON, the
// merchant's "check at Vipps") are open to whoever has the reference. So
// every read of a payment at Vipps goes through one budget per order:
//
//   - one read in flight per order: callers that come while it runs wait
//     for it and share its answer;
//   - a page's read younger than readReuse answers the next pages without
//     a new one (the order as stored holds what it said): always for the
//     waiting pages' polling of the order (RefreshIfStale), and for the
//     return page and the merchant's check once the order's reads are
//     under pressure (half its burst spent), so that a buyer back from the
//     app a moment after a first look still sees the approval, and a
//     flood is answered from one read every readReuse;
//   - at most readsPerMinute reads a minute per order (readBurst at once),
//     on each instance, whoever asks, so that two instances together stay
//     at Vipps' limit. A page past the cap shows the order as stored; the
//     merchant's check says Vipps cannot be asked now.
//
// The poller, the outbox, webhooks and the operations read when their own
// schedules say (a backoff each); their reads count against the cap but
// are never refused, and do not stand in for a page's read: a buyer who
// comes back just after approving is not shown the poller's look from a
// moment before.
const (
	readReuse      = 2 * time.Second
	readsPerMinute = 60
	readBurst      = 10
	// readsKept bounds the orders whose last read is remembered; idle
	// entries (their cap refilled) are dropped when it is reached.
	readsKept = 10000
)

// errReadBudget: the order's reads at Vipps are used up for now.
var errReadBudget = errors.New("the payment was read at vipps as often as its read budget allows; try again in a few seconds")

// readBudget is the per-order budget of reads at Vipps (see above).
type readBudget struct {
	flights singleflight.Group

	mu     sync.Mutex
	orders map[string]*orderReads
}

// orderReads is what the budget remembers of one order.
type orderReads struct {
	last  time.Time // when the last read for a page ended
	limit *rate.Limiter
}

func newReadBudget() *readBudget {
	return &readBudget{orders: map[string]*orderReads{}}
}

// entry returns ref's record, making it; the caller holds mu.
func (b *readBudget) entry(ref string, now time.Time) *orderReads {
	e, ok := b.orders[ref]
	if ok {
		return e
	}
	if len(b.orders) >= readsKept {
		for k, old := range b.orders {
			if now.Sub(old.last) > time.Minute {
				delete(b.orders, k)
			}
		}
	}
	e = &orderReads{limit: rate.NewLimiter(rate.Limit(float64(readsPerMinute)/60), readBurst)}
	b.orders[ref] = e
	return e
}

// Reuse of a recent read (see budgetedRead).
type reuse int

const (
	// reuseAlways answers from a read younger than maxAge.
	reuseAlways reuse = iota
	// reuseUnderPressure does so only once half the order's burst of
	// reads is spent.
	reuseUnderPressure
)

// recent reports whether ref was read at Vipps for a page less than maxAge
// ago, and that read may answer now (see reuse).
func (b *readBudget) recent(ref string, now time.Time, maxAge time.Duration, how reuse) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.orders[ref]
	if !ok || maxAge <= 0 || e.last.IsZero() || now.Sub(e.last) >= maxAge {
		return false
	}
	return how == reuseAlways || e.limit.TokensAt(now) < readBurst/2
}

// take spends one read of ref; with must, even past the cap (the read is
// counted all the same). It reports whether the read may go.
func (b *readBudget) take(ref string, now time.Time, must bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entry(ref, now)
	if e.limit.AllowN(now, 1) {
		return true
	}
	if must {
		// Counted: the tokens go negative, and the pages wait longer.
		e.limit.ReserveN(now, 1)
		return true
	}
	return false
}

// done notes that a read of ref for a page ended at now.
func (b *readBudget) done(ref string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.entry(ref, now).last = now
}

// budgetedRead brings the order cur up to date from Vipps within the
// order's read budget, for a page or the merchant: the stored order when a
// read younger than maxAge answers it (as how says), the shared answer of a read in
// flight, or a new read when the cap allows. Past the cap the stored order
// comes back with an UnavailableError. The read runs on its own deadline,
// not the caller's, so that a caller who leaves does not fail the others
// who wait for it.
func (s *Service) budgetedRead(ctx context.Context, cur *state.Order, src state.Source, maxAge time.Duration, how reuse) (*state.Order, error) {
	ref := cur.Reference
	if s.reads.recent(ref, s.now(), maxAge, how) {
		return s.orderOr(cur)
	}
	ch := s.reads.flights.DoChan(ref, func() (any, error) {
		if !s.reads.take(ref, s.now(), false) {
			return nil, errReadBudget
		}
		o, err := s.readPayment(context.WithoutCancel(ctx), cur, src)
		s.reads.done(ref, s.now())
		return o, err
	})
	select {
	case <-ctx.Done():
		return cur, s.classify("get", ctx.Err())
	case res := <-ch:
		if errors.Is(res.Err, errReadBudget) {
			o, _ := s.orderOr(cur)
			return o, &UnavailableError{Op: "get", Err: errReadBudget}
		}
		if res.Err != nil {
			o, _ := res.Val.(*state.Order)
			if o == nil {
				o = cur
			}
			return o, res.Err
		}
		return res.Val.(*state.Order), nil
	}
}

// orderOr is the order as stored now, or cur when it cannot be read.
func (s *Service) orderOr(cur *state.Order) (*state.Order, error) {
	if o, err := s.Order(cur.Reference); err == nil {
		return o, nil
	}
	return cur, nil
}
