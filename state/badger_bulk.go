package state

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Import writes orders with their indexes in large batches, for migrating a
// shop's history into a new store or preloading one for a benchmark. It is
// not a transition: nothing is validated against stored orders, and an
// existing order with the same reference is overwritten (its old index
// entries stay behind), so use it on a store nothing else is writing to.
func (s *BadgerStore) Import(orders []*Order) error {
	s.gate.RLock()
	defer s.gate.RUnlock()
	if s.closed {
		return ErrClosed
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	rows := map[time.Time]LedgerRow{}
	for _, o := range orders {
		if o.Reference == "" {
			return fmt.Errorf("import: an order has no reference")
		}
		if o.Schema == 0 {
			o.Schema = SchemaVersion
		}
		data, err := json.Marshal(o)
		if err != nil {
			return fmt.Errorf("import %s: %w", o.Reference, err)
		}
		if err := wb.Set([]byte(prefixOrder+o.Reference), data); err != nil {
			return fmt.Errorf("import %s: %w", o.Reference, err)
		}
		sumLedger(rows, o)
		for _, k := range []string{createdKey(o), statusKey(o), pendingKey(o), linkKey(o), toShipKey(o)} {
			if k == "" {
				continue
			}
			if err := wb.SetEntry(badger.NewEntry([]byte(k), nil)); err != nil {
				return fmt.Errorf("import %s: %w", o.Reference, err)
			}
		}
	}
	if err := s.importLedger(wb, rows); err != nil {
		return fmt.Errorf("import: the ledger: %w", err)
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	return nil
}
