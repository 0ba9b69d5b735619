package state

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/dgraph-io/badger/v4"
)

// schemaMetaKey records the schema version every stored order has.
const schemaMetaKey = "schema"

// migrate brings orders written by an older version up to SchemaVersion,
// once per database: version 1 stored a status that a table of transitions
// let through, which could leave an order named "refunded" while money was
// still reserved, or refuse what Vipps reported afterwards. Each such order
// gets its status derived from its amounts again, through Update, so its
// indexes and history stay in step, and orders with money still reserved
// join the poller's watch (see Order.Watched).
func (s *BadgerStore) migrate() error {
	raw, err := s.GetMeta(schemaMetaKey)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("reading the schema version: %w", err)
	}
	if v, _ := strconv.Atoi(string(raw)); v >= SchemaVersion {
		return nil
	}
	var stale []string
	err = s.view(func(txn *badger.Txn) error {
		return eachOrder(txn, func(o *Order) error {
			if o.Schema < SchemaVersion {
				stale = append(stale, o.Reference)
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("migrating orders: %w", err)
	}
	for _, ref := range stale {
		_, _, err := s.Update(ref, SourceWorker, func(o *Order, tx *Tx) error {
			before := o.Status
			o.Schema = SchemaVersion
			o.Status = DeriveStatus(o.Payment, o.Status)
			if o.Status != before {
				tx.Note("status derived from the payment's amounts")
			}
			if o.Payment.Reserved() > 0 && o.NextCheckAt.IsZero() {
				// Orders with money reserved are watched now.
				o.NextCheckAt = s.now().UTC()
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("migrating order %s: %w", ref, err)
		}
	}
	return s.PutMeta(schemaMetaKey, []byte(strconv.Itoa(SchemaVersion)))
}
