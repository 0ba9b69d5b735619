package state

import (
	"github.com/dgraph-io/badger/v4"
)

// Update is the transition function: the only way to change an order.
//
// It runs fn on a copy of the current order inside a Badger read-modify-write
// transaction. If fn returns ErrNoChange, or leaves the order as it was and
// enqueues nothing, nothing is written and the current order is returned
// with changed == false. Otherwise the change is validated (money
// invariants, nothing goes back), the status is derived from the amounts, a
// history entry is added when the status changed or fn noted something,
// every index is kept in step, fn's jobs and buyer details are written, and
// the transaction is committed, on disk before Update returns. Any other
// error from fn, or an IllegalTransitionError, writes nothing.
//
// Callers on one order are serialised in-process, and a conflict with
// another transaction is retried with fn run again on fresh data.
func (s *BadgerStore) Update(ref string, src Source, fn func(o *Order, tx *Tx) error) (*Order, bool, error) {
	mu := s.lock(ref)
	mu.Lock()
	defer mu.Unlock()
	var (
		result  *Order
		changed bool
	)
	err := s.retry(func(txn *badger.Txn) error {
		result, changed = nil, false
		cur, stored, err := s.getOrderStored(txn, ref)
		if err != nil {
			return err
		}
		res, err := Transition(cur, stored, src, s.now().UTC(), s.history, fn)
		if err != nil {
			return err
		}
		if res.Empty() {
			result = cur
			return nil
		}
		if res.OrderChanged {
			if err := s.setOrder(txn, res.After, res.Encoded); err != nil {
				return err
			}
			if err := writeIndexes(txn, cur, res.After); err != nil {
				return err
			}
			if err := addLedger(txn, ref, LedgerChange(cur, res.After, res.After.UpdatedAt)); err != nil {
				return err
			}
		}
		for _, j := range res.Tx.jobs {
			if j.Ref == "" {
				j.Ref = ref
			}
			if err := s.putJob(txn, j); err != nil {
				return err
			}
		}
		for _, id := range res.Tx.Dropped() {
			if err := dropJob(txn, id); err != nil {
				return err
			}
		}
		if b, ttl := res.Tx.Buyer(); b != nil {
			if err := putBuyer(txn, ref, *b, ttl); err != nil {
				return err
			}
		}
		result, changed = res.After, res.OrderChanged
		return nil
	})
	if err != nil {
		if result == nil {
			if cur, gerr := s.Get(ref); gerr == nil {
				result = cur
			}
		}
		return result, false, err
	}
	if changed {
		s.answersStored(result)
	}
	return result, changed, nil
}
