package state

import (
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// CountEvent implements Store: the window's end and count live under the
// key's hash, and vanish with the window (a TTL).
func (s *BadgerStore) CountEvent(key string, window time.Duration) (int, error) {
	k := []byte(prefixCount + Hash(key))
	var n int
	err := s.retry(func(txn *badger.Txn) error {
		now := s.now()
		end, count := now.Add(window), 0
		item, err := txn.Get(k)
		switch {
		case err == nil:
			var endNS int64
			if verr := item.Value(func(v []byte) error {
				_, err := fmt.Sscanf(string(v), "%d %d", &endNS, &count)
				return err
			}); verr != nil {
				return verr
			}
			if e := time.Unix(0, endNS); now.Before(e) {
				end = e
			} else {
				count = 0
			}
		case !errors.Is(err, badger.ErrKeyNotFound):
			return err
		}
		n = count + 1
		v := fmt.Sprintf("%d %d", end.UnixNano(), n)
		return txn.SetEntry(badger.NewEntry(k, []byte(v)).WithTTL(end.Sub(now) + time.Second))
	})
	return n, err
}
