package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// BadgerStore is the embedded engine: one Badger directory, shared by
// every part of the plugin in one process (across config reloads too). It
// needs nothing to run; a shop on several Caddy instances needs
// PostgreSQL instead (package state/postgres).
type BadgerStore struct {
	db      *badger.DB
	gate    sync.RWMutex // held for reading by every call, for writing by Close
	closed  bool
	now     func() time.Time
	history int
	locks   [256]sync.Mutex
	claimMu sync.Mutex
	excl    sync.Map // name → *sync.Mutex, for Exclusive
	orders  orderCache
	creates createBatch
	answers answers // create answers not yet written (see RecordCreated)
}

// Key layout. Every key is ASCII.
const (
	prefixOrder   = "o/"  // o/<ref> → Order
	prefixBuyer   = "b/"  // b/<ref> → Buyer (with TTL)
	prefixMeta    = "m/"  // m/<key> → bytes
	prefixCreated = "ic/" // ic/<inverted created>/<ref> → ""
	prefixStatus  = "is/" // is/<status>/<inverted created>/<ref> → ""
	prefixPending = "ip/" // ip/<next check>/<ref> → ""
	prefixJob     = "j/"  // j/<id> → Job
	prefixDue     = "jd/" // jd/<available at>/<id> → ""
	prefixDead    = "jx/" // jx/<id> → Job
	prefixRequest = "rq/" // rq/<sha-256 of the key> → KeyedRequest (with TTL)
	prefixSig     = "sg/" // sg/<sha-256 of a webhook signature> → "" (with TTL)
	prefixLink    = "l/"  // l/<id> → Link
	prefixToken   = "lt/" // lt/<sha-256 of the token> → id
	prefixLinks   = "il/" // il/<inverted created>/<id> → ""
	prefixByLink  = "ol/" // ol/<link id>/<inverted created>/<ref> → ""
	prefixCount   = "rc/" // rc/<sha-256 of the key> → "<window end ns> <count>" (with TTL)
	prefixLedger  = "lg/" // lg/<hour>/<shard> → "<captured> <refunded> <orders>" (see LedgerRow)
	prefixToShip  = "ir/" // ir/<created>/<ref> → "" while money is reserved
)

// OpenBadger opens (creating if needed, mode 0700) the order database in
// dir.
func OpenBadger(dir string, opts Options) (*BadgerStore, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HistoryLimit <= 0 {
		opts.HistoryLimit = 50
	}
	if !opts.InMemory {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	bo := badger.DefaultOptions(dir).
		WithLogger(badgerLogger{opts.Logger}).
		// Every commit is on disk before it returns: Badger syncs the
		// write-ahead log of the memtable each commit lands in (DB.Sync
		// would reach only the newest memtable, not one that was rotated
		// out before the sync), and commits that arrive together share
		// Badger's write batch.
		WithSyncWrites(true).
		WithInMemory(opts.InMemory).
		// Badger's defaults are sized for a database server (64 MiB
		// memtables, a 256 MiB block cache, 1 GiB value log files). A shop
		// writes a few kilobytes per order, so small tables keep an idle
		// Caddy small.
		WithMemTableSize(8 << 20).
		WithNumMemtables(2).
		WithBaseTableSize(2 << 20).
		WithBlockCacheSize(8 << 20).
		WithIndexCacheSize(4 << 20).
		WithValueLogFileSize(64 << 20).
		WithNumLevelZeroTables(3).
		WithNumLevelZeroTablesStall(10).
		WithNumCompactors(2)
	if opts.InMemory {
		bo.Dir, bo.ValueDir = "", ""
	}
	db, err := badger.Open(bo)
	if err != nil {
		if strings.Contains(err.Error(), "Cannot acquire directory lock") {
			return nil, fmt.Errorf("%w (%s)", ErrLocked, dir)
		}
		return nil, fmt.Errorf("opening badger: %w", err)
	}
	s := &BadgerStore{db: db, now: opts.Now, history: opts.HistoryLimit}
	s.answers.flush = s.flushAnswers
	if err := s.migrate(); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := s.buildLedger(); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database once the calls in flight have returned; later
// calls get ErrClosed.
func (s *BadgerStore) Close() error {
	s.gate.Lock()
	defer s.gate.Unlock()
	if s.closed {
		return nil
	}
	// Create answers still held in memory are written first (see
	// RecordCreated), so a shop that stops loses none.
	w := &s.answers
	w.mu.Lock()
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	w.mu.Unlock()
	flushErr := s.writeAnswers(s.takeAnswers(true), s.commit)
	s.closed = true
	return errors.Join(flushErr, s.db.Close())
}

// view runs fn in a read-only transaction, unless the store is closed.
func (s *BadgerStore) view(fn func(txn *badger.Txn) error) error {
	s.gate.RLock()
	defer s.gate.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.db.View(fn)
}

// DB exposes the Badger handle (benchmarks, diagnostics).
func (s *BadgerStore) DB() *badger.DB { return s.db }

// Create stores a new order with its indexes and jobs in one transaction,
// on disk before it returns, together with the other new orders that wait
// at that moment (see createBatch). A second order with the same
// reference gets ErrExists.
func (s *BadgerStore) Create(o *Order, jobs ...Job) error {
	if err := PrepareNew(o, s.now()); err != nil {
		return err
	}
	return s.createGrouped(o, jobs)
}

// insertOrder writes a new order with its indexes in txn, and what it
// adds to the ledger; ErrExists if the reference is taken.
func (s *BadgerStore) insertOrder(txn *badger.Txn, o *Order) error {
	if err := s.insertOrderOnly(txn, o); err != nil {
		return err
	}
	return addLedger(txn, o.Reference, LedgerChange(nil, o, o.CreatedAt))
}

// insertOrderOnly writes a new order with its indexes in txn, leaving the
// ledger to the caller; ErrExists if the reference is taken.
func (s *BadgerStore) insertOrderOnly(txn *badger.Txn, o *Order) error {
	if _, err := txn.Get([]byte(prefixOrder + o.Reference)); err == nil {
		return ErrExists
	} else if !errors.Is(err, badger.ErrKeyNotFound) {
		return err
	}
	if err := s.putOrder(txn, o); err != nil {
		return err
	}
	return writeIndexes(txn, nil, o)
}

// Get returns an order, or ErrNotFound.
func (s *BadgerStore) Get(ref string) (*Order, error) {
	var o *Order
	err := s.view(func(txn *badger.Txn) error {
		var err error
		o, err = s.getOrder(txn, ref)
		return err
	})
	return o, err
}

// PutBuyer stores buyer details for an order; they vanish after ttl.
func (s *BadgerStore) PutBuyer(ref string, b Buyer, ttl time.Duration) error {
	return s.retry(func(txn *badger.Txn) error { return putBuyer(txn, ref, b, ttl) })
}

// Buyer returns an order's buyer details, or ErrNotFound once they expired.
func (s *BadgerStore) Buyer(ref string) (*Buyer, error) {
	var b Buyer
	err := s.view(func(txn *badger.Txn) error { return getJSON(txn, prefixBuyer+ref, &b) })
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// GetMeta returns a setting, or ErrNotFound.
func (s *BadgerStore) GetMeta(key string) ([]byte, error) {
	var out []byte
	err := s.view(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(prefixMeta + key))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		out, err = item.ValueCopy(nil)
		return err
	})
	return out, err
}

// PutMeta stores a setting.
func (s *BadgerStore) PutMeta(key string, v []byte) error {
	return s.retry(func(txn *badger.Txn) error { return txn.Set([]byte(prefixMeta+key), v) })
}

func putBuyer(txn *badger.Txn, ref string, b Buyer, ttl time.Duration) error {
	data, err := json.Marshal(b)
	if err != nil {
		return err
	}
	e := badger.NewEntry([]byte(prefixBuyer+ref), data)
	if ttl > 0 {
		e = e.WithTTL(ttl)
	}
	return txn.SetEntry(e)
}

func (s *BadgerStore) lock(ref string) *sync.Mutex {
	h := uint32(2166136261)
	for i := 0; i < len(ref); i++ {
		h = (h ^ uint32(ref[i])) * 16777619
	}
	return &s.locks[h%uint32(len(s.locks))]
}

// retry runs fn in a read-write transaction, retrying on conflicts with
// another transaction. fn's own error writes nothing and is returned as it
// is; a commit that fails for any other reason than a conflict (a disk
// that refuses the write or its sync) may have reached the log, and is
// reported as ErrOutcomeUnknown rather than as a write that did not
// happen.
func (s *BadgerStore) retry(fn func(txn *badger.Txn) error) error {
	s.gate.RLock()
	defer s.gate.RUnlock()
	if s.closed {
		return ErrClosed
	}
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		err = s.commit(fn)
		if !errors.Is(err, badger.ErrConflict) {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * time.Millisecond)
	}
	return fmt.Errorf("giving up after repeated conflicts: %w", err)
}

// commit is one attempt of retry.
func (s *BadgerStore) commit(fn func(txn *badger.Txn) error) error {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	if err := fn(txn); err != nil {
		return err
	}
	err := txn.Commit()
	switch {
	case err == nil, errors.Is(err, badger.ErrConflict):
		return err
	case errors.Is(err, badger.ErrDBClosed), errors.Is(err, badger.ErrBlockedWrites):
		// Refused before anything was written.
		return fmt.Errorf("%w: %v", ErrClosed, err)
	}
	return fmt.Errorf("%w: %v", ErrOutcomeUnknown, err)
}

// getOrder reads an order.
func (s *BadgerStore) getOrder(txn *badger.Txn, ref string) (*Order, error) {
	o, _, err := s.getOrderStored(txn, ref)
	return o, err
}

// getOrderStored reads an order and the bytes it is stored as, decoding
// them only when the cache does not hold them. An order with a create
// answer kept apart (see RecordCreated) is returned with it merged in, and
// without stored bytes, since it is no longer what they say.
func (s *BadgerStore) getOrderStored(txn *badger.Txn, ref string) (*Order, []byte, error) {
	o, raw, err := s.getOrderRaw(txn, ref)
	if err != nil {
		return nil, nil, err
	}
	merged, err := s.mergeAnswer(txn, o)
	if err != nil {
		return nil, nil, err
	}
	if merged {
		return o, nil, nil
	}
	return o, raw, nil
}

// getOrderRaw reads an order as stored in the synced database.
func (s *BadgerStore) getOrderRaw(txn *badger.Txn, ref string) (*Order, []byte, error) {
	key := prefixOrder + ref
	item, err := txn.Get([]byte(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	raw, err := item.ValueCopy(nil)
	if err != nil {
		return nil, nil, err
	}
	if o, ok := s.orders.get(ref, raw); ok {
		return o, raw, nil
	}
	var o Order
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, nil, fmt.Errorf("decoding %s: %w", key, err)
	}
	s.orders.put(ref, raw, o.Clone())
	return &o, raw, nil
}

// putOrder writes an order (its indexes are the caller's).
func (s *BadgerStore) putOrder(txn *badger.Txn, o *Order) error {
	raw, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return s.setOrder(txn, o, raw)
}

// setOrder writes an order already encoded as raw, and remembers the pair.
// Should the transaction not commit, the stored bytes differ from the
// remembered ones and the next read decodes.
func (s *BadgerStore) setOrder(txn *badger.Txn, o *Order, raw []byte) error {
	if err := txn.Set([]byte(prefixOrder+o.Reference), raw); err != nil {
		return err
	}
	s.orders.put(o.Reference, raw, o.Clone())
	return nil
}

func getJSON(txn *badger.Txn, key string, v any) error {
	item, err := txn.Get([]byte(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	return item.Value(func(val []byte) error {
		if err := json.Unmarshal(val, v); err != nil {
			return fmt.Errorf("decoding %s: %w", key, err)
		}
		return nil
	})
}

// eachOrder calls fn with every stored order, decoded from the iterator's
// own item (no second lookup of its key).
func eachOrder(txn *badger.Txn, fn func(o *Order) error) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = []byte(prefixOrder)
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		var o Order
		item := it.Item()
		if err := item.Value(func(val []byte) error { return json.Unmarshal(val, &o) }); err != nil {
			return fmt.Errorf("decoding %s: %w", item.Key(), err)
		}
		if err := fn(&o); err != nil {
			return err
		}
	}
	return nil
}

func putJSON(txn *badger.Txn, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return txn.Set([]byte(key), data)
}
