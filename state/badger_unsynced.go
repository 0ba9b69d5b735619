package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// The one write of a checkout that is not synced.
//
// A checkout stores its order, as pending and with the create call's
// Idempotency-Key, in one synced commit before Vipps hears of it. Vipps'
// answer (the payment exists; the buyer's address at Vipps) used to be a
// second synced commit. It need not be: everything in it can be asked of
// Vipps again — the poller reads the payment's state, and the create sent
// again with the stored key answers with the same address — so losing it
// to a power cut loses nothing, while its fsync cost as much as the
// order's. Badger syncs per database (SyncWrites), not per commit, and
// DB.Sync after an unsynced commit does not reach a memtable rotated out
// meanwhile; so the answer goes to a second Badger database in the
// store's directory, opened without SyncWrites. Its writes reach the
// operating system before RecordCreated returns, so they survive the
// process being killed, not a power cut. Every read of an order whose
// payment is not yet known merges the answer in (one lookup, only for
// such orders), and the order's next transition writes it with the order,
// synced. Entries expire after unsyncedTTL, long after any order has had
// its next transition (the poller's first look comes seconds later).

const (
	// unsyncedDir is the second database's directory, inside the store's.
	unsyncedDir = "unsynced"
	// prefixCreateAnswer keys an order's create answer: ca/<ref>.
	prefixCreateAnswer = "ca/"
	unsyncedTTL        = 7 * 24 * time.Hour
)

// openUnsynced opens the second, unsynced database of a store in dir.
func openUnsynced(dir string, opts Options) (*badger.DB, error) {
	udir := filepath.Join(dir, unsyncedDir)
	if !opts.InMemory {
		if err := os.MkdirAll(udir, 0o700); err != nil {
			return nil, fmt.Errorf("creating %s: %w", udir, err)
		}
	}
	bo := badger.DefaultOptions(udir).
		WithLogger(badgerLogger{opts.Logger}).
		// Deliberately not synced: see above.
		WithSyncWrites(false).
		WithInMemory(opts.InMemory).
		// It holds a few hundred bytes per order of the last days.
		WithMemTableSize(2 << 20).
		WithNumMemtables(2).
		WithBaseTableSize(1 << 20).
		WithValueThreshold(1 << 10).
		WithBlockCacheSize(1 << 20).
		WithIndexCacheSize(1 << 20).
		WithValueLogFileSize(16 << 20).
		WithNumLevelZeroTables(3).
		WithNumLevelZeroTablesStall(10).
		WithNumCompactors(2)
	if opts.InMemory {
		bo.Dir, bo.ValueDir = "", ""
	}
	db, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("opening the unsynced badger database: %w", err)
	}
	return db, nil
}

// RecordCreated implements Store: the answer is written to the unsynced
// database (see above) and merged into every read of the order until the
// order's next transition writes it with the order.
func (s *BadgerStore) RecordCreated(ref string, a CreateAnswer) (*Order, error) {
	mu := s.lock(ref)
	mu.Lock()
	defer mu.Unlock()
	o, err := s.Get(ref)
	if err != nil {
		return nil, err
	}
	if !o.applyCreatedRecord(a, s.history) {
		return o, nil
	}
	data, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	s.gate.RLock()
	defer s.gate.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	err = s.unsynced.Update(func(txn *badger.Txn) error {
		return txn.SetEntry(badger.NewEntry([]byte(prefixCreateAnswer+ref), data).WithTTL(unsyncedTTL))
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOutcomeUnknown, err)
	}
	return o, nil
}

// mergeUnsynced merges an order's create answer, if one is kept apart, into
// o as read. Only an order whose payment is not known yet (or whose
// address at Vipps is not) is looked up. It reports whether o changed.
func (s *BadgerStore) mergeUnsynced(o *Order) (bool, error) {
	if o.Payment.State != "" && (o.RedirectURL != "" || o.Payment.State != vippsCreated) {
		return false, nil
	}
	var a CreateAnswer
	err := s.unsynced.View(func(txn *badger.Txn) error {
		return getJSON(txn, prefixCreateAnswer+o.Reference, &a)
	})
	switch {
	case errors.Is(err, ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return o.applyCreatedRecord(a, s.history), nil
}
