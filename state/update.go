package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Tx collects what an Update function wants written besides the order:
// outbox jobs, buyer details and a note for the history.
type Tx struct {
	jobs     []Job
	buyer    *Buyer
	buyerTTL time.Duration
	note     string
}

// Enqueue adds an outbox job, written in the same transaction as the change.
func (tx *Tx) Enqueue(j Job) { tx.jobs = append(tx.jobs, j) }

// Note sets the note of the history entry this change writes.
func (tx *Tx) Note(format string, args ...any) { tx.note = fmt.Sprintf(format, args...) }

// SetBuyer writes buyer details in the same transaction; they vanish after
// ttl.
func (tx *Tx) SetBuyer(b Buyer, ttl time.Duration) { tx.buyer, tx.buyerTTL = &b, ttl }

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
func (s *Store) Update(ref string, src Source, fn func(o *Order, tx *Tx) error) (*Order, bool, error) {
	mu := s.lock(ref)
	mu.Lock()
	defer mu.Unlock()
	var (
		result  *Order
		changed bool
	)
	err := s.retry(func(txn *badger.Txn) error {
		result, changed = nil, false
		cur, err := getOrder(txn, ref)
		if err != nil {
			return err
		}
		before, err := json.Marshal(cur)
		if err != nil {
			return err
		}
		var work Order
		if err := json.Unmarshal(before, &work); err != nil {
			return err
		}
		tx := &Tx{}
		ferr := fn(&work, tx)
		switch {
		case errors.Is(ferr, ErrNoChange):
			work = *cur
		case ferr != nil:
			return ferr
		default:
			if err := settleStatus(cur, &work); err != nil {
				return err
			}
		}
		after, err := json.Marshal(&work)
		if err != nil {
			return err
		}
		orderChanged := !bytes.Equal(before, after)
		if !orderChanged && len(tx.jobs) == 0 && tx.buyer == nil {
			result = cur
			return nil
		}
		if orderChanged {
			if err := validate(cur, &work); err != nil {
				return err
			}
			now := s.now().UTC()
			if work.Status != cur.Status || tx.note != "" {
				work.History = appendHistory(work.History, HistoryEntry{At: now, Source: src, From: cur.Status, To: work.Status, Note: tx.note}, s.history)
			}
			work.UpdatedAt = now
			if err := putJSON(txn, prefixOrder+ref, &work); err != nil {
				return err
			}
			if err := writeIndexes(txn, cur, &work); err != nil {
				return err
			}
		}
		for _, j := range tx.jobs {
			if j.Ref == "" {
				j.Ref = ref
			}
			if err := s.putJob(txn, j); err != nil {
				return err
			}
		}
		if tx.buyer != nil {
			if err := putBuyer(txn, ref, *tx.buyer, tx.buyerTTL); err != nil {
				return err
			}
		}
		result, changed = &work, orderChanged
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
	return result, changed, nil
}

// appendHistory keeps the first entry and the newest ones.
func appendHistory(h []HistoryEntry, e HistoryEntry, limit int) []HistoryEntry {
	h = append(h, e)
	if len(h) > limit && limit > 1 {
		keep := make([]HistoryEntry, 0, limit)
		keep = append(keep, h[0])
		keep = append(keep, h[len(h)-(limit-1):]...)
		h = keep
	}
	return h
}
