package state

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

func linkIndexKey(l *Link) string { return prefixLinks + invTsKey(l.CreatedAt) + "/" + l.ID }

// CreateLink implements Store.
func (s *BadgerStore) CreateLink(l *Link) error {
	if l.ID == "" || l.Token == "" {
		return errors.New("a link needs an id and a token")
	}
	if l.CreatedAt.IsZero() {
		l.CreatedAt = s.now().UTC()
	}
	return s.retry(func(txn *badger.Txn) error {
		for _, k := range []string{prefixLink + l.ID, prefixToken + Hash(l.Token)} {
			if _, err := txn.Get([]byte(k)); err == nil {
				return ErrExists
			} else if !errors.Is(err, badger.ErrKeyNotFound) {
				return err
			}
		}
		if err := putJSON(txn, prefixLink+l.ID, l); err != nil {
			return err
		}
		if err := txn.Set([]byte(prefixToken+Hash(l.Token)), []byte(l.ID)); err != nil {
			return err
		}
		return txn.Set([]byte(linkIndexKey(l)), nil)
	})
}

// GetLink implements Store.
func (s *BadgerStore) GetLink(id string) (*Link, error) {
	var l Link
	if err := s.view(func(txn *badger.Txn) error { return getJSON(txn, prefixLink+id, &l) }); err != nil {
		return nil, err
	}
	return &l, nil
}

// LinkByToken implements Store.
func (s *BadgerStore) LinkByToken(tokenHash string) (*Link, error) {
	var l Link
	err := s.view(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(prefixToken + tokenHash))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		id, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		return getJSON(txn, prefixLink+string(id), &l)
	})
	if err != nil {
		return nil, err
	}
	return &l, nil
}

// ListLinks implements Store.
func (s *BadgerStore) ListLinks(cursor string, limit int) ([]*Link, string, error) {
	if limit <= 0 {
		limit = 50
	}
	if cursor != "" && !validCursor(cursor) {
		return nil, "", fmt.Errorf("invalid cursor")
	}
	var links []*Link
	next := ""
	err := s.view(func(txn *badger.Txn) error {
		tails, err := scanTails(txn, prefixLinks, cursor, ListFilter{}, limit+1)
		if err != nil {
			return err
		}
		if len(tails) > limit {
			tails = tails[:limit]
			next = tails[limit-1]
		}
		for _, t := range tails {
			var l Link
			if err := getJSON(txn, prefixLink+t[17:], &l); err != nil {
				return err
			}
			links = append(links, &l)
		}
		return nil
	})
	return links, next, err
}

// UpdateLink implements Store.
func (s *BadgerStore) UpdateLink(id string, fn func(l *Link) error) (*Link, error) {
	return s.changeLink(id, func(_ *badger.Txn, l *Link) error { return fn(l) })
}

// CreateLinkOrder implements Store. The link's key and its holder's are
// read in the transaction, so a concurrent change to either (another
// order for the link, the holder's payment moving on) makes Badger run it
// again on fresh data.
func (s *BadgerStore) CreateLinkOrder(id string, o *Order, fn func(l *Link, holder *Order) error, jobs ...Job) (*Link, error) {
	o.Link = id
	if err := PrepareNew(o, s.now()); err != nil {
		return nil, err
	}
	return s.changeLink(id, func(txn *badger.Txn, l *Link) error {
		var holder *Order
		if l.Holder != "" {
			h, err := s.getOrder(txn, l.Holder)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			holder = h
		}
		if err := fn(l, holder); err != nil {
			return err
		}
		for _, j := range jobs {
			if err := s.putJob(txn, j); err != nil {
				return err
			}
		}
		return s.insertOrder(txn, o)
	})
}

// changeLink runs fn on link id in a read-write transaction, callers on
// one link taking turns, and writes the link unless fn fails.
func (s *BadgerStore) changeLink(id string, fn func(txn *badger.Txn, l *Link) error) (*Link, error) {
	mu := s.lock(prefixLink + id)
	mu.Lock()
	defer mu.Unlock()
	var out *Link
	err := s.retry(func(txn *badger.Txn) error {
		var l Link
		if err := getJSON(txn, prefixLink+id, &l); err != nil {
			return err
		}
		if err := fn(txn, &l); err != nil {
			return err
		}
		out = &l
		return putJSON(txn, prefixLink+id, &l)
	})
	return out, err
}
