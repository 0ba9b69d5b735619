package shop

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// housekeepingInterval is how often expired records are purged from a
// store that does not expire them itself.
const housekeepingInterval = 10 * time.Minute

// RunHousekeeping purges what has expired (buyer details past their
// retention, keys, signatures) until ctx ends, for stores without a TTL of
// their own. With Badger it returns at once.
func (s *Service) RunHousekeeping(ctx context.Context) {
	p, ok := s.store.(state.Purger)
	if !ok {
		return
	}
	s.every(ctx, housekeepingInterval, "housekeeping", 0, func(context.Context) (int, error) {
		n, err := p.Purge(s.now())
		if n > 0 {
			s.log.Info("purged expired records", zap.Int64("records", n))
		}
		return int(n), err
	})
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
