package shop

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// pollBatch bounds the orders checked per tick; pollParallel the calls to
// Vipps in flight at once; pollLease is how long a claimed check is this
// poller's, before another (on this instance or another) may take it.
const (
	pollBatch    = 200
	pollParallel = 4
	pollLease    = time.Minute
)

// RunPoller checks watched orders at Vipps until ctx ends: pending orders on
// a backoff, orders with money reserved every few hours. Vipps requires
// both webhooks and polling: this is what confirms an order whose webhook and
// return were both lost, and what sees a capture made in the business
// portal whose webhook was lost. Its work per tick grows with the number of
// watched orders due a check, never with the number of finished ones.
func (s *Service) RunPoller(ctx context.Context) {
	s.every(ctx, s.cfg.PollInterval, "poller", pollBatch, s.PollOnce)
}

// every runs tick each interval until ctx ends; with full > 0 a tick that
// handled full items runs again at once.
func (s *Service) every(ctx context.Context, interval time.Duration, name string, full int, tick func(context.Context) (int, error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.drain(ctx, name, full, tick)
		}
	}
}

// drain runs tick once and, with full > 0, again while it handled full
// items: a full batch means more is waiting, and a burst of orders must not
// wait an interval per batch.
func (s *Service) drain(ctx context.Context, name string, full int, tick func(context.Context) (int, error)) {
	for ctx.Err() == nil {
		n, err := tick(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn(name+" tick failed", zap.Error(err))
		}
		if err != nil || full <= 0 || n < full {
			return
		}
	}
}

// PollOnce checks up to one batch of watched orders that are due, and
// returns how many of them it could ask Vipps about. A tick of RunPoller
// goes on with the next batch while every order of a full batch reached
// Vipps, so a burst of orders due at once (a busy hour's pending checkouts)
// is checked in one tick rather than 200 per interval; one order that Vipps
// did not answer ends the tick, so an unreachable Vipps is not asked
// again and again (its orders are rescheduled on their backoff). Vipps
// limits reads per payment, not per merchant.
func (s *Service) PollOnce(ctx context.Context) (int, error) {
	refs, err := s.store.ClaimChecks(s.now(), pollLease, pollBatch)
	if err != nil {
		return 0, err
	}
	sem := make(chan struct{}, pollParallel)
	var wg sync.WaitGroup
	var reached atomic.Int64
	for _, ref := range refs {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if s.pollOrder(ctx, ref) {
				reached.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(reached.Load()), nil
}

// pollOrder checks one order at Vipps and records what it learns; it
// reports whether Vipps answered (a payment, or that there is none).
func (s *Service) pollOrder(ctx context.Context, ref string) bool {
	callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s.reads.take(ref, s.now(), true)
	p, err := s.vipps.GetPayment(callCtx, ref)
	if err == nil {
		if _, err := s.applyPayment(ref, state.SourcePoller, p, true); err != nil {
			s.log.Warn("poller could not record payment", zap.String("reference", ref), zap.Error(err))
		}
		return true
	}
	if vipps.IsNotFound(err) {
		if o, gerr := s.Order(ref); gerr == nil {
			if o, _ = s.missingAtVipps(o, state.SourcePoller); o != nil && !o.Status.Pending() {
				return true
			}
		}
		s.reschedule(ref)
		return true
	}
	err = s.classify("get", err)
	s.log.Debug("poller could not reach vipps", zap.String("reference", ref), zap.Error(err))
	s.reschedule(ref)
	return false
}

// reschedule plans the next check of an order whose check failed.
func (s *Service) reschedule(ref string) {
	now := s.now().UTC()
	_, _, err := s.update(ref, state.SourcePoller, func(o *state.Order, tx *state.Tx) error {
		if !o.Watched() {
			return state.ErrNoChange
		}
		o.Checks++
		o.NextCheckAt = s.nextCheck(o, now, true)
		return nil
	})
	if err != nil {
		s.log.Warn("poller could not reschedule", zap.String("reference", ref), zap.Error(err))
	}
}
