package state

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math/big"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Job is an outbox entry: a side effect (post a receipt, finish a capture,
// notify the merchant) written in the same transaction as the change that
// calls for it, and run by a worker until it succeeds.
type Job struct {
	// ID is unique; Enqueue assigns a time-ordered one if empty. A caller
	// that sets it can later complete the job by ID.
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	Ref        string    `json:"ref,omitempty"`
	Payload    []byte    `json:"payload,omitempty"`
	Attempts   int       `json:"attempts"`
	NotBefore  time.Time `json:"not_before,omitzero"`
	LastError  string    `json:"last_error,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
}

// availableAt is when a job may next be claimed.
func (j Job) availableAt() time.Time {
	if j.LeaseUntil.After(j.NotBefore) {
		return j.LeaseUntil
	}
	return j.NotBefore
}

func dueKey(j Job) string { return prefixDue + tsKey(j.availableAt()) + "/" + j.ID }

func newJobID(now time.Time) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return tsKey(now) + "-" + hex.EncodeToString(b[:])
}

func (s *BadgerStore) putJob(txn *badger.Txn, j Job) error {
	now := s.now().UTC()
	if j.ID == "" {
		j.ID = newJobID(now)
	}
	if j.CreatedAt.IsZero() {
		j.CreatedAt = now
	}
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
			j.Attempts++
			j.LeaseUntil = now.Add(lease)
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
	err := s.takeJob(j.ID, func(txn *badger.Txn, cur *Job) error {
		return txn.Delete([]byte(prefixJob + cur.ID))
	})
	if err != nil {
		return err
	}
	return s.retry(func(txn *badger.Txn) error { return txn.Delete([]byte(prefixDead + j.ID)) })
}

// RetryJob releases a claimed job to run again at next, recording the error.
func (s *BadgerStore) RetryJob(j Job, cause error, next time.Time) error {
	return s.takeJob(j.ID, func(txn *badger.Txn, cur *Job) error {
		cur.LeaseUntil = time.Time{}
		cur.NotBefore = next.UTC()
		if cause != nil {
			cur.LastError = cause.Error()
		}
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
		if cause != nil {
			cur.LastError = cause.Error()
		}
		cur.LeaseUntil = time.Time{}
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

// Backoff is the wait before attempt n+1 of a job: exponential from 5
// seconds, capped at an hour, with jitter so retries do not march in step.
func Backoff(attempt int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	if d > time.Hour {
		d = time.Hour
	}
	half := int64(d / 2)
	n, err := rand.Int(rand.Reader, big.NewInt(half+1))
	if err != nil {
		return d
	}
	return time.Duration(half + n.Int64())
}
