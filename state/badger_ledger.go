package state

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// The ledger in Badger (see LedgerRow): each hour's row is split into
// LedgerShards rows, lg/<hour>/<shard>; two transactions that add to the
// same one conflict, and Badger runs one of them again (see retry).

// ledgerMetaKey records that the ledger and the index of orders to ship
// were built for the orders stored before they existed.
const ledgerMetaKey = "ledger"

func ledgerKey(hour time.Time, shard int) string {
	return prefixLedger + tsKey(hour) + "/" + strconv.Itoa(shard)
}

// toShipKey lists an order with money reserved, oldest first.
func toShipKey(o *Order) string {
	if o.Payment.Reserved() <= 0 {
		return ""
	}
	return prefixToShip + tsKey(o.CreatedAt) + "/" + o.Reference
}

func encodeLedger(r LedgerRow) []byte {
	return fmt.Appendf(nil, "%d %d %d", r.Captured, r.Refunded, r.Orders)
}

func decodeLedger(v []byte) (LedgerRow, error) {
	var r LedgerRow
	f := strings.Fields(string(v))
	if len(f) != 3 {
		return r, fmt.Errorf("ledger row %q", v)
	}
	var err error
	n := make([]int64, 3)
	for i := range f {
		if n[i], err = strconv.ParseInt(f[i], 10, 64); err != nil {
			return r, fmt.Errorf("ledger row %q: %w", v, err)
		}
	}
	r.Captured, r.Refunded, r.Orders = n[0], n[1], n[2]
	return r, nil
}

// addLedger adds a change to its row in txn (read, sum, write: a
// concurrent writer of the same row makes the commit conflict).
func addLedger(txn *badger.Txn, ref string, change LedgerRow) error {
	if change.Empty() {
		return nil
	}
	key := []byte(ledgerKey(change.Hour, LedgerShard(ref)))
	row, err := readLedger(txn, key)
	if err != nil {
		return err
	}
	row.add(change)
	return txn.Set(key, encodeLedger(row))
}

// readLedger reads one stored row of the ledger; a row never written is
// zero.
func readLedger(txn *badger.Txn, key []byte) (LedgerRow, error) {
	var row LedgerRow
	item, err := txn.Get(key)
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return row, nil
	case err != nil:
		return row, err
	}
	err = item.Value(func(v []byte) (err error) { row, err = decodeLedger(v); return err })
	return row, err
}

// Ledger implements Store.
func (s *BadgerStore) Ledger(from, to time.Time) ([]LedgerRow, error) {
	var rows []LedgerRow
	err := s.view(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte(prefixLedger)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek([]byte(prefixLedger + tsKey(LedgerHour(from)))); it.Valid(); it.Next() {
			k := string(it.Item().Key())
			ns, err := strconv.ParseUint(k[len(prefixLedger):len(prefixLedger)+16], 16, 64)
			if err != nil {
				return fmt.Errorf("ledger key %q: %w", k, err)
			}
			hour := time.Unix(0, int64(ns)).UTC()
			if !hour.Before(to) {
				break
			}
			if hour.Before(from) {
				continue
			}
			var r LedgerRow
			if err := it.Item().Value(func(v []byte) (err error) { r, err = decodeLedger(v); return err }); err != nil {
				return err
			}
			r.Hour = hour
			if n := len(rows); n > 0 && rows[n-1].Hour.Equal(hour) {
				rows[n-1].add(r)
				continue
			}
			rows = append(rows, r)
		}
		return nil
	})
	return rows, err
}

// Oldest implements Store: orders to ship from their own index (by time
// made, oldest first), orders waiting from the status index read
// backwards.
func (s *BadgerStore) Oldest(b Backlog, limit int) ([]*Order, int, error) {
	var prefixes []string
	switch b {
	case BacklogToShip:
		prefixes = []string{prefixToShip}
	case BacklogWaiting:
		prefixes = []string{prefixStatus + string(StatusNew) + "/", prefixStatus + string(StatusPending) + "/"}
	default:
		return nil, 0, fmt.Errorf("unknown backlog %q", b)
	}
	type entry struct {
		at  string // sortable time made, oldest first
		ref string
	}
	var (
		firsts []entry
		count  int
	)
	err := s.view(func(txn *badger.Txn) error {
		for _, p := range prefixes {
			opts := badger.DefaultIteratorOptions
			opts.PrefetchValues = false
			opts.Prefix = []byte(p)
			opts.Reverse = b == BacklogWaiting // the status index is newest first
			it := txn.NewIterator(opts)
			seek := p
			if opts.Reverse {
				seek = p + "\xff"
			}
			n := 0
			for it.Seek([]byte(seek)); it.Valid(); it.Next() {
				count++
				if n >= limit {
					continue
				}
				tail := string(it.Item().Key()[len(p):]) // <time>/<ref>
				at := tail[:16]
				if opts.Reverse {
					inv, err := strconv.ParseUint(tail[:16], 16, 64)
					if err != nil {
						it.Close()
						return fmt.Errorf("index key %q: %w", tail, err)
					}
					at = fmt.Sprintf("%016x", ^inv)
				}
				firsts = append(firsts, entry{at: at, ref: tail[17:]})
				n++
			}
			it.Close()
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	// Two indexes merged: oldest first across both.
	slices.SortFunc(firsts, func(a, b entry) int { return strings.Compare(a.at+"/"+a.ref, b.at+"/"+b.ref) })
	if len(firsts) > limit {
		firsts = firsts[:limit]
	}
	orders := make([]*Order, 0, len(firsts))
	err = s.view(func(txn *badger.Txn) error {
		for _, e := range firsts {
			o, err := s.getOrder(txn, e.ref)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			orders = append(orders, o)
		}
		return nil
	})
	return orders, count, err
}

// buildLedger builds, once per database, the ledger and the index of
// orders to ship for the orders stored before they existed, each order
// counted as LedgerOf says (an approximation of when its money moved). It
// runs while the store opens, before anything else can write; should it
// be cut short, it runs again from the start, writing the same rows.
func (s *BadgerStore) buildLedger() error {
	if _, err := s.GetMeta(ledgerMetaKey); err == nil {
		return nil
	} else if !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("reading the ledger marker: %w", err)
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	rows := map[time.Time]LedgerRow{}
	err := s.view(func(txn *badger.Txn) error {
		return eachOrder(txn, func(o *Order) error {
			sumLedger(rows, o)
			if k := toShipKey(o); k != "" {
				return wb.Set([]byte(k), nil)
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("building the ledger: %w", err)
	}
	for hour, r := range rows {
		if err := wb.Set([]byte(ledgerKey(hour, 0)), encodeLedger(r)); err != nil {
			return fmt.Errorf("building the ledger: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("building the ledger: %w", err)
	}
	return s.PutMeta(ledgerMetaKey, []byte("1"))
}

// sumLedger adds what an order adds to the ledger (LedgerOf) to rows.
func sumLedger(rows map[time.Time]LedgerRow, o *Order) {
	for _, r := range LedgerOf(o) {
		addToHour(rows, r)
	}
}

// addToHour adds a change to the row of its hour in rows.
func addToHour(rows map[time.Time]LedgerRow, change LedgerRow) {
	cur := rows[change.Hour]
	cur.Hour = change.Hour
	cur.add(change)
	rows[change.Hour] = cur
}

// importLedger adds rows to the ledger's rows as stored (Import).
func (s *BadgerStore) importLedger(wb *badger.WriteBatch, rows map[time.Time]LedgerRow) error {
	return s.db.View(func(txn *badger.Txn) error {
		for hour, r := range rows {
			key := []byte(ledgerKey(hour, 0))
			old, err := readLedger(txn, key)
			if err != nil {
				return err
			}
			r.add(old)
			if err := wb.Set(key, encodeLedger(r)); err != nil {
				return err
			}
		}
		return nil
	})
}
