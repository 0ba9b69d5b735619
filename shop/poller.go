package shop

import (
	"context"
	"sync"
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
	// The poller takes one batch per tick: orders it could not check are
	// due again at once, and must not spin against an unreachable Vipps.
	s.every(ctx, s.cfg.PollInterval, "poller", 0, s.PollOnce)
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
			// A full batch means more is waiting: keep going rather than
			// let a burst of orders wait a tick per batch.
			for ctx.Err() == nil {
				n, err := tick(ctx)
				if err != nil && ctx.Err() == nil {
					s.log.Warn(name+" tick failed", zap.Error(err))
				}
				if err != nil || full <= 0 || n < full {
					break
				}
			}
		}
	}
}

// PollOnce checks every watched order that is due, and returns how many it
// checked.
func (s *Service) PollOnce(ctx context.Context) (int, error) {
	refs, err := s.store.ClaimChecks(s.now(), pollLease, pollBatch)
	if err != nil {
		return 0, err
	}
	sem := make(chan struct{}, pollParallel)
	var wg sync.WaitGroup
	for _, ref := range refs {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			s.pollOrder(ctx, ref)
		}()
	}
	wg.Wait()
	return len(refs), nil
}

func (s *Service) pollOrder(ctx context.Context, ref string) {
	callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s.reads.take(ref, s.now(), true)
	p, err := s.vipps.GetPayment(callCtx, ref)
	if err == nil {
		if _, err := s.applyPayment(ref, state.SourcePoller, p, true); err != nil {
			s.log.Warn("poller could not record payment", zap.String("reference", ref), zap.Error(err))
		}
		return
	}
	if vipps.IsNotFound(err) {
		if o, gerr := s.Order(ref); gerr == nil {
			if o, _ = s.missingAtVipps(o, state.SourcePoller); o != nil && !o.Status.Pending() {
				return
			}
		}
	} else {
		err = s.classify("get", err)
		s.log.Debug("poller could not reach vipps", zap.String("reference", ref), zap.Error(err))
	}
	s.reschedule(ref)
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
