package state

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Timestamps in keys are 16 hex digits of Unix nanoseconds, so byte order is
// time order. The created indexes store the inverted time, so iterating
// forward lists the newest orders first.
func tsKey(t time.Time) string {
	n := t.UnixNano()
	if n < 0 {
		n = 0
	}
	return fmt.Sprintf("%016x", uint64(n))
}

func invTsKey(t time.Time) string {
	n := t.UnixNano()
	if n < 0 {
		n = 0
	}
	return fmt.Sprintf("%016x", math.MaxUint64-uint64(n))
}

func createdKey(o *Order) string { return prefixCreated + invTsKey(o.CreatedAt) + "/" + o.Reference }
func statusKey(o *Order) string {
	return prefixStatus + string(o.Status) + "/" + invTsKey(o.CreatedAt) + "/" + o.Reference
}

// linkKey lists an order under the payment link it was made from.
func linkKey(o *Order) string {
	if o.Link == "" {
		return ""
	}
	return prefixByLink + o.Link + "/" + invTsKey(o.CreatedAt) + "/" + o.Reference
}

func pendingKey(o *Order) string {
	if !o.Watched() || o.NextCheckAt.IsZero() {
		return ""
	}
	return prefixPending + tsKey(o.NextCheckAt) + "/" + o.Reference
}

// writeIndexes moves an order's index entries from before (nil for a new
// order) to after.
func writeIndexes(txn *badger.Txn, before, after *Order) error {
	pairs := [][2]string{{"", createdKey(after)}, {"", statusKey(after)}, {"", pendingKey(after)}, {"", linkKey(after)}, {"", toShipKey(after)}}
	if before != nil {
		pairs[0][0], pairs[1][0], pairs[2][0], pairs[3][0], pairs[4][0] = createdKey(before), statusKey(before), pendingKey(before), linkKey(before), toShipKey(before)
	}
	for _, p := range pairs {
		if p[0] == p[1] {
			continue
		}
		if p[0] != "" {
			if err := txn.Delete([]byte(p[0])); err != nil {
				return err
			}
		}
		if p[1] != "" {
			if err := txn.Set([]byte(p[1]), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// DueChecks returns the references of watched orders (see Order.Watched)
// whose next check at Vipps is due, soonest first. It reads only the index of
// watched orders, so its cost grows with the number of orders still open,
// never with finished ones.
func (s *BadgerStore) DueChecks(now time.Time, max int) ([]string, error) {
	var refs []string
	err := s.view(func(txn *badger.Txn) error {
		var err error
		refs, err = dueIn(txn, now, max)
		return err
	})
	return refs, err
}

func dueIn(txn *badger.Txn, now time.Time, max int) ([]string, error) {
	var refs []string
	limit := []byte(prefixPending + tsKey(now) + "/\xff")
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = []byte(prefixPending)
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Seek([]byte(prefixPending)); it.Valid() && len(refs) < max; it.Next() {
		k := it.Item().Key()
		if bytes.Compare(k, limit) > 0 {
			break
		}
		refs = append(refs, string(k[strings.LastIndexByte(string(k), '/')+1:]))
	}
	return refs, nil
}

// ListFilter narrows the order list.
type ListFilter struct {
	// Status keeps only orders in one of these statuses (all when empty).
	Status []Status
	// From and To bound CreatedAt (inclusive); zero means unbounded.
	From, To time.Time
	// Link keeps only the orders made from this payment link; it cannot
	// be combined with Status (ErrInvalidFilter).
	Link string
}

// List returns orders newest first, at most limit, starting after cursor
// (empty for the first page), and the cursor of the next page (empty when
// there is none). Pages are stable while orders are added: new orders sort
// before every cursor, so they never shift or appear in later pages. A
// status filter reads the status indexes, not every order.
func (s *BadgerStore) List(cursor string, limit int, f ListFilter) ([]*Order, string, error) {
	if limit <= 0 {
		limit = 50
	}
	if cursor != "" && !validCursor(cursor) {
		return nil, "", fmt.Errorf("invalid cursor")
	}
	for _, st := range f.Status {
		if !slices.Contains(AllStatuses, st) {
			return nil, "", fmt.Errorf("unknown status %q", st)
		}
	}
	prefixes := []string{prefixCreated}
	switch {
	case f.Link != "" && len(f.Status) > 0:
		return nil, "", ErrInvalidFilter
	case f.Link != "":
		prefixes = []string{prefixByLink + f.Link + "/"}
	}
	if len(f.Status) > 0 {
		prefixes = prefixes[:0]
		for _, st := range f.Status {
			prefixes = append(prefixes, prefixStatus+string(st)+"/")
		}
	}
	// The tail of every index key is "<inverted created>/<ref>": merge the
	// indexes on it.
	var tails []string
	err := s.view(func(txn *badger.Txn) error {
		for _, p := range prefixes {
			got, err := scanTails(txn, p, cursor, f, limit+1)
			if err != nil {
				return err
			}
			tails = append(tails, got...)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	slices.Sort(tails)
	tails = slices.Compact(tails)
	next := ""
	if len(tails) > limit {
		tails = tails[:limit]
		next = tails[limit-1]
	}
	orders := make([]*Order, 0, len(tails))
	err = s.view(func(txn *badger.Txn) error {
		for _, t := range tails {
			o, err := s.getOrder(txn, t[17:])
			if err != nil {
				return err
			}
			orders = append(orders, o)
		}
		return nil
	})
	return orders, next, err
}

func validCursor(c string) bool {
	if len(c) < 18 || c[16] != '/' {
		return false
	}
	_, err := hex.DecodeString(c[:16])
	return err == nil
}

func scanTails(txn *badger.Txn, prefix, cursor string, f ListFilter, max int) ([]string, error) {
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = []byte(prefix)
	it := txn.NewIterator(opts)
	defer it.Close()
	start := prefix
	if !f.To.IsZero() {
		start = prefix + invTsKey(f.To)
	}
	if cursor != "" && prefix+cursor+"\x00" > start {
		start = prefix + cursor + "\x00"
	}
	stop := ""
	if !f.From.IsZero() {
		stop = invTsKey(f.From) + "/\xff"
	}
	var out []string
	for it.Seek([]byte(start)); it.Valid() && len(out) < max; it.Next() {
		tail := string(it.Item().Key()[len(prefix):])
		if stop != "" && tail > stop {
			break
		}
		out = append(out, tail)
	}
	return out, nil
}

// Count counts the orders a filter matches.
func (s *BadgerStore) Count(f ListFilter) (int, error) {
	n := 0
	cursor := ""
	for {
		page, next, err := s.List(cursor, 1000, f)
		if err != nil {
			return 0, err
		}
		n += len(page)
		if next == "" {
			return n, nil
		}
		cursor = next
	}
}
