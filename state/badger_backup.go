package state

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
)

// Backup writes a consistent snapshot of the whole database to w while the
// store keeps serving (Badger's own backup format), and returns the
// version it is consistent at. Create answers held in memory (see
// RecordCreated) are written first, so that the backup has them.
func (s *BadgerStore) Backup(w io.Writer) (uint64, error) {
	s.gate.RLock()
	defer s.gate.RUnlock()
	if s.closed {
		return 0, ErrClosed
	}
	if err := s.writeAnswers(s.takeAnswers(true), s.commit); err != nil {
		return 0, fmt.Errorf("writing held create answers: %w", err)
	}
	return s.db.Backup(w, 0)
}

// Restore loads a backup made by Backup into this store, which should be
// new and empty. A backup made before the store kept a ledger brings no
// ledger marker along: the ledger is then built from its orders the next
// time the store opens.
func (s *BadgerStore) Restore(r io.Reader) error {
	s.gate.RLock()
	defer s.gate.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete([]byte(prefixMeta + ledgerMetaKey)) }); err != nil {
		return err
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

// RestoreBadgerBackup loads a backup file made by Backup into dir, which
// must be empty or missing, and reports how many orders it holds (the
// vipps-restore command).
func RestoreBadgerBackup(from, dir string) (int, error) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return 0, fmt.Errorf("%s is not empty: restore into an empty directory", dir)
	}
	f, err := os.Open(from)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s, err := OpenBadger(filepath.Clean(dir), Options{})
	if err != nil {
		return 0, err
	}
	defer s.Close()
	if err := s.Restore(f); err != nil {
		return 0, fmt.Errorf("restoring %s: %w", from, err)
	}
	return s.CountOrders()
}
