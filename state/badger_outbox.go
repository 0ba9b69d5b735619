package state

import (
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"
)

func dueKey(j Job) string { return prefixDue + tsKey(j.AvailableAt()) + "/" + j.ID }

func (s *BadgerStore) putJob(txn *badger.Txn, j Job) error {
	j.Prepare(s.now())
	if err := putJSON(txn, prefixJob+j.ID, j); err != nil {
		return err
	}
	return txn.Set([]byte(dueKey(j)), nil)
}

// ClaimJobs hands out up to max jobs that are due and not leased (or whose
// lease ran out because their worker died), leasing each until now+lease and
// counting the attempt, atomically: two workers never hold one job at once.
func (s *BadgerStore) ClaimJobs(now time.Time, lease time.Duration, max int) ([]Job, error) {
	s.claimMu.Lock()
	defer s.claimMu.Unlock()
	var claimed []Job
	err := s.retry(func(txn *badger.Txn) error {
		claimed = claimed[:0]
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = []byte(prefixDue)
		it := txn.NewIterator(opts)
		limit := prefixDue + tsKey(now) + "/\xff"
		var ids []string
		for it.Seek([]byte(prefixDue)); it.Valid() && len(ids) < max; it.Next() {
			k := string(it.Item().Key())
			if k > limit {
				break
			}
			ids = append(ids, k[len(prefixDue)+17:])
		}
		it.Close()
		for _, id := range ids {
			var j Job
			if err := getJSON(txn, prefixJob+id, &j); err != nil {
				if errors.Is(err, ErrNotFound) {
					continue
				}
				return err
			}
			if err := txn.Delete([]byte(dueKey(j))); err != nil {
				return err
			}
			j.Lease(now.Add(lease))
			if err := putJSON(txn, prefixJob+j.ID, j); err != nil {
				return err
			}
			if err := txn.Set([]byte(dueKey(j)), nil); err != nil {
				return err
			}
			claimed = append(claimed, j)
		}
		return nil
	})
	return claimed, err
}

// takeJob runs fn on a stored job after removing it from the due index, in
// one transaction. A job that is gone already is not an error: completing,
// retrying or burying a job twice is harmless.
func (s *BadgerStore) takeJob(id string, fn func(txn *badger.Txn, cur *Job) error) error {
	return s.retry(func(txn *badger.Txn) error {
		var cur Job
		if err := getJSON(txn, prefixJob+id, &cur); err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			return err
		}
		if err := txn.Delete([]byte(dueKey(cur))); err != nil {
			return err
		}
		return fn(txn, &cur)
	})
}

// CompleteJob removes a finished job, also from the dead-letter list (a job
// given up on whose work was done another way, say by the merchant).
func (s *BadgerStore) CompleteJob(j Job) error {
	return s.retry(func(txn *badger.Txn) error { return dropJob(txn, j.ID) })
}

// dropJob deletes a job, its place in the due index and any dead-letter
// copy, writing nothing when there is none (a completion that comes twice
// costs no synced commit).
func dropJob(txn *badger.Txn, id string) error {
	var cur Job
	switch err := getJSON(txn, prefixJob+id, &cur); {
	case err == nil:
		if err := txn.Delete([]byte(dueKey(cur))); err != nil {
			return err
		}
		if err := txn.Delete([]byte(prefixJob + id)); err != nil {
			return err
		}
	case !errors.Is(err, ErrNotFound):
		return err
	}
	switch _, err := txn.Get([]byte(prefixDead + id)); {
	case err == nil:
		return txn.Delete([]byte(prefixDead + id))
	case !errors.Is(err, badger.ErrKeyNotFound):
		return err
	}
	return nil
}

// RetryJob releases a claimed job to run again at next, recording the error.
func (s *BadgerStore) RetryJob(j Job, cause error, next time.Time) error {
	return s.takeJob(j.ID, func(txn *badger.Txn, cur *Job) error {
		cur.Reschedule(cause, next)
		if err := putJSON(txn, prefixJob+cur.ID, cur); err != nil {
			return err
		}
		return txn.Set([]byte(dueKey(*cur)), nil)
	})
}

// DeadJob gives up on a job: it moves to the dead-letter list that the
// merchant sees.
func (s *BadgerStore) DeadJob(j Job, cause error) error {
	return s.takeJob(j.ID, func(txn *badger.Txn, cur *Job) error {
		if err := txn.Delete([]byte(prefixJob + cur.ID)); err != nil {
			return err
		}
		cur.Bury(cause)
		return putJSON(txn, prefixDead+cur.ID, cur)
	})
}

// PendingJobs lists the jobs waiting or running.
func (s *BadgerStore) PendingJobs() ([]Job, error) { return s.jobsUnder(prefixJob) }

// DeadJobs lists the jobs given up on.
func (s *BadgerStore) DeadJobs() ([]Job, error) { return s.jobsUnder(prefixDead) }

func (s *BadgerStore) jobsUnder(prefix string) ([]Job, error) {
	var out []Job
	err := s.view(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte(prefix)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var j Job
			if err := getJSON(txn, string(it.Item().Key()), &j); err != nil {
				return err
			}
			out = append(out, j)
		}
		return nil
	})
	return out, err
}
