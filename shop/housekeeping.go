package shop

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// housekeepingInterval is how often expired records and abandoned orders
// are purged.
const housekeepingInterval = 10 * time.Minute

// abandonedBatch bounds the orders one purge deletes; a full batch is
// followed by another at once.
const abandonedBatch = 200

// RunHousekeeping purges, until ctx ends, what has expired (buyer details
// past their retention, keys, signatures, for stores without a TTL of
// their own) and orders that never moved money once they are older than
// the abandoned retention.
func (s *Service) RunHousekeeping(ctx context.Context) {
	p, purger := s.store.(state.Purger)
	if !purger && s.cfg.AbandonedRetention <= 0 {
		return
	}
	s.every(ctx, housekeepingInterval, "housekeeping", abandonedBatch, func(context.Context) (int, error) {
		if purger {
			n, err := p.Purge(s.now())
			if n > 0 {
				s.log.Info("purged expired records", zap.Int64("records", n))
			}
			if err != nil {
				return 0, err
			}
		}
		return s.PurgeAbandoned()
	})
}

// PurgeAbandoned deletes one batch of orders that never moved money and
// are older than the abandoned retention, and returns how many it
// deleted (none when the retention is off).
func (s *Service) PurgeAbandoned() (int, error) {
	if s.cfg.AbandonedRetention <= 0 {
		return 0, nil
	}
	refs, err := s.store.PurgeAbandoned(s.now().Add(-s.cfg.AbandonedRetention), abandonedBatch)
	if len(refs) > 0 {
		s.log.Info("purged orders that never moved money", zap.Int("orders", len(refs)), zap.Duration("retention", s.cfg.AbandonedRetention))
	}
	return len(refs), err
}

// EraseBuyer deletes what is kept of an order's buyer (name, email, phone
// number, address) at once — a buyer's request to be forgotten — and notes
// it in the order's history. The order's amounts and items stay: they are
// the shop's accounts.
func (s *Service) EraseBuyer(ref string) (*state.Order, error) {
	if _, err := s.Order(ref); err != nil {
		return nil, err
	}
	if err := s.store.EraseBuyer(ref); err != nil {
		return nil, err
	}
	o, _, err := s.update(ref, state.SourceMerchant, func(o *state.Order, tx *state.Tx) error {
		tx.Note("buyer details erased on request")
		if o.BuyerDetails == "queued" {
			o.BuyerDetails = "erased"
		}
		return nil
	})
	return o, err
}
