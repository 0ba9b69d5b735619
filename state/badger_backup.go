package state

import (
	"io"

	"github.com/dgraph-io/badger/v4"
)

// Backup writes a consistent snapshot of the whole database to w while the
// store keeps serving (Badger's own backup format), and returns the
// version it is consistent at.
func (s *BadgerStore) Backup(w io.Writer) (uint64, error) {
	s.gate.RLock()
	defer s.gate.RUnlock()
	if s.closed {
		return 0, ErrClosed
	}
	return s.db.Backup(w, 0)
}

// Restore loads a backup made by Backup into this store, which should be
// new and empty.
func (s *BadgerStore) Restore(r io.Reader) error {
	s.gate.RLock()
	defer s.gate.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.db.Load(r, 256)
}

// CountOrders counts the stored orders.
func (s *BadgerStore) CountOrders() (int, error) {
	n := 0
	err := s.view(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = []byte(prefixOrder)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	return n, err
}
