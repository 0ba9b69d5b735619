package state

import (
	"errors"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// PurgeAbandoned implements Store. It reads the status indexes of the
// statuses an abandoned order can have, from the cut-off back, and deletes
// each order in a transaction of its own that reads it again: an order that
// moved on meanwhile (a late authorization) conflicts and is looked at
// afresh, and kept.
func (s *BadgerStore) PurgeAbandoned(before time.Time, max int) ([]string, error) {
	var refs []string
	err := s.view(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		for _, st := range AbandonedStatuses {
			prefix := prefixStatus + string(st) + "/"
			opts.Prefix = []byte(prefix)
			it := txn.NewIterator(opts)
			for it.Seek([]byte(prefix + invTsKey(before))); it.Valid() && len(refs) < max; it.Next() {
				k := string(it.Item().Key())
				refs = append(refs, k[strings.LastIndexByte(k, '/')+1:])
			}
			it.Close()
		}
		return nil
	})
	if err != nil || len(refs) == 0 {
		return nil, err
	}
	jobs, err := s.jobsOf(refs)
	if err != nil {
		return nil, err
	}
	var gone []string
	for _, ref := range refs {
		deleted := false
		err := s.retry(func(txn *badger.Txn) error {
			deleted = false
			o, err := s.getOrder(txn, ref)
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			if err != nil || !purgeable(o, before) {
				return err
			}
			for _, k := range []string{prefixOrder + ref, createdKey(o), statusKey(o), pendingKey(o), linkKey(o), toShipKey(o), prefixBuyer + ref} {
				if k == "" {
					continue
				}
				if err := txn.Delete([]byte(k)); err != nil {
					return err
				}
			}
			for _, id := range jobs[ref] {
				if err := dropJob(txn, id); err != nil {
					return err
				}
			}
			if o.Link != "" {
				var l Link
				switch err := getJSON(txn, prefixLink+o.Link, &l); {
				case err == nil:
					forgetOrderIn(&l, ref)
					if err := putJSON(txn, prefixLink+o.Link, &l); err != nil {
						return err
					}
				case !errors.Is(err, ErrNotFound):
					return err
				}
			}
			deleted = true
			return nil
		})
		if err != nil {
			return gone, err
		}
		if deleted {
			gone = append(gone, ref)
		}
	}
	return gone, nil
}

// jobsOf returns the IDs of the jobs (waiting or dead) of refs.
func (s *BadgerStore) jobsOf(refs []string) (map[string][]string, error) {
	want := make(map[string]bool, len(refs))
	for _, r := range refs {
		want[r] = true
	}
	out := map[string][]string{}
	for _, list := range []func() ([]Job, error){s.PendingJobs, s.DeadJobs} {
		jobs, err := list()
		if err != nil {
			return nil, err
		}
		for _, j := range jobs {
			if want[j.Ref] {
				out[j.Ref] = append(out[j.Ref], j.ID)
			}
		}
	}
	return out, nil
}
