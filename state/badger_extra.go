package state

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// ClaimChecks implements Store: due watched orders are moved to now+lease
// in the index of watched orders, in one transaction.
func (s *BadgerStore) ClaimChecks(now time.Time, lease time.Duration, max int) ([]string, error) {
	var claimed []string
	err := s.retry(func(txn *badger.Txn) error {
		claimed = claimed[:0]
		refs, err := dueIn(txn, now, max)
		if err != nil {
			return err
		}
		for _, ref := range refs {
			o, err := getOrder(txn, ref)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			moved := *o
			moved.NextCheckAt = now.Add(lease).UTC()
			if err := putJSON(txn, prefixOrder+ref, &moved); err != nil {
				return err
			}
			if err := writeIndexes(txn, o, &moved); err != nil {
				return err
			}
			claimed = append(claimed, ref)
		}
		return nil
	})
	return claimed, err
}

// EraseBuyer implements Store.
func (s *BadgerStore) EraseBuyer(ref string) error {
	return s.retry(func(txn *badger.Txn) error { return txn.Delete([]byte(prefixBuyer + ref)) })
}

func sigKey(sig string) []byte {
	sum := sha256.Sum256([]byte(sig))
	return []byte(prefixSig + hex.EncodeToString(sum[:]))
}

// SeenSignature implements Store.
func (s *BadgerStore) SeenSignature(sig string) (bool, error) {
	seen := false
	err := s.view(func(txn *badger.Txn) error {
		_, err := txn.Get(sigKey(sig))
		switch {
		case err == nil:
			seen = true
		case !errors.Is(err, badger.ErrKeyNotFound):
			return err
		}
		return nil
	})
	return seen, err
}

// RememberSignature implements Store.
func (s *BadgerStore) RememberSignature(sig string, until time.Time) error {
	ttl := until.Sub(s.now())
	if ttl < time.Second {
		ttl = time.Second
	}
	return s.retry(func(txn *badger.Txn) error {
		return txn.SetEntry(badger.NewEntry(sigKey(sig), nil).WithTTL(ttl))
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
