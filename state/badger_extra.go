package state

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// ClaimChecks implements Store: due watched orders are moved to now+lease
// in the index of watched orders, in one transaction.
func (s *BadgerStore) ClaimChecks(now time.Time, lease time.Duration, max int) ([]string, error) {
	var (
		claimed []string
		moved   []*Order
	)
	err := s.retry(func(txn *badger.Txn) error {
		claimed, moved = claimed[:0], moved[:0]
		refs, err := dueIn(txn, now, max)
		if err != nil {
			return err
		}
		for _, ref := range refs {
			o, err := s.getOrder(txn, ref)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			m := *o
			m.NextCheckAt = now.Add(lease).UTC()
			if err := s.putOrder(txn, &m); err != nil {
				return err
			}
			if err := writeIndexes(txn, o, &m); err != nil {
				return err
			}
			claimed, moved = append(claimed, ref), append(moved, &m)
		}
		return nil
	})
	if err == nil {
		// The orders went to disk with any create answer held for them.
		s.answersStored(moved...)
	}
	return claimed, err
}

// EraseBuyer implements Store.
func (s *BadgerStore) EraseBuyer(ref string) error {
	return s.retry(func(txn *badger.Txn) error { return txn.Delete([]byte(prefixBuyer + ref)) })
}

func sigKey(sig string) []byte { return []byte(prefixSig + Hash(sig)) }

// SeenSignature implements Store.
func (s *BadgerStore) SeenSignature(sig string) (bool, error) {
	seen := false
	err := s.view(func(txn *badger.Txn) error {
		item, err := txn.Get(sigKey(sig))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			until, err := strconv.ParseInt(string(v), 10, 64)
			seen = err == nil && s.now().UnixNano() < until
			return nil
		})
	})
	return seen, err
}

// RememberSignature implements Store. The entry also expires by itself
// (Badger's TTL) a little after until.
func (s *BadgerStore) RememberSignature(sig string, until time.Time) error {
	ttl := until.Sub(s.now()) + time.Minute
	return s.retry(func(txn *badger.Txn) error {
		return txn.SetEntry(badger.NewEntry(sigKey(sig), []byte(strconv.FormatInt(until.UnixNano(), 10))).WithTTL(ttl))
	})
}

// Exclusive implements Store: one process holds a Badger directory, so a
// lock in the process is enough.
func (s *BadgerStore) Exclusive(ctx context.Context, name string, fn func() error) error {
	v, _ := s.excl.LoadOrStore(name, &sync.Mutex{})
	mu := v.(*sync.Mutex)
	mu.Lock()
	defer mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	return fn()
}
