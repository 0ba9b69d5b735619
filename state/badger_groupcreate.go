package state

import (
	"errors"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// Group commit of new orders.
//
// Badger syncs every commit (SyncWrites) with its own msync of the
// write-ahead log, even when its write loop takes several commits at
// once; and each msync leaves the log's pages clean, so the next write to
// them faults again. Under many buyers that fsync and that fault are most
// of what a checkout costs. New orders are therefore stored together:
// the first Create to come is the leader and writes, in one transaction
// and one synced commit, every order waiting by then (its own included);
// those that come while it commits wait for the next leader, one of them.
// Nobody waits for anybody who comes later, so one buyer alone pays
// nothing for it, and each order is on disk before its Create returns, as
// before. The orders of one batch are committed or not together; each
// caller gets its own ErrExists, and the commit's outcome.
type createBatch struct {
	mu      sync.Mutex
	leading bool
	queue   []*createReq
}

// createReq is one Create waiting in a batch.
type createReq struct {
	o    *Order
	jobs []Job
	err  error
	done chan struct{} // closed when the order's commit has an outcome
	lead chan struct{} // closed when this caller is to lead the next batch
}

// maxCreateBatch bounds a batch: far below Badger's largest transaction
// for orders of a few kilobytes.
const maxCreateBatch = 64

// createGrouped stores a new order in the next batch (see createBatch).
func (s *BadgerStore) createGrouped(o *Order, jobs []Job) error {
	r := &createReq{o: o, jobs: jobs, done: make(chan struct{}), lead: make(chan struct{})}
	b := &s.creates
	b.mu.Lock()
	b.queue = append(b.queue, r)
	if b.leading {
		b.mu.Unlock()
		select {
		case <-r.done:
			return r.err
		case <-r.lead:
		}
		b.mu.Lock()
	}
	b.leading = true
	n := min(len(b.queue), maxCreateBatch)
	batch := b.queue[:n:n]
	b.queue = b.queue[n:]
	b.mu.Unlock()

	s.commitCreates(batch)

	b.mu.Lock()
	if len(b.queue) > 0 {
		close(b.queue[0].lead)
	} else {
		b.leading = false
	}
	b.mu.Unlock()
	return r.err
}

// commitCreates writes a batch of new orders in one transaction, each
// with its indexes and jobs; an order whose reference is taken gets
// ErrExists and is left out.
func (s *BadgerStore) commitCreates(batch []*createReq) {
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	var answers map[string]CreateAnswer
	err := s.retry(func(txn *badger.Txn) error {
		// Create answers waiting in memory go with the orders (see
		// RecordCreated): their one write costs no fsync of its own.
		answers = s.takeAnswers()
		if err := writeAnswers(txn, answers); err != nil {
			return err
		}
		for _, r := range batch {
			r.err = nil
			err := s.insertOrder(txn, r.o)
			if errors.Is(err, ErrExists) {
				r.err = err
				continue
			}
			if err != nil {
				return err
			}
			for _, j := range r.jobs {
				if err := s.putJob(txn, j); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil {
		s.answersWritten(answers)
	}
	if errors.Is(err, badger.ErrTxnTooBig) && len(batch) > 1 {
		half := len(batch) / 2
		s.commitCreatesSplit(batch[:half], batch[half:])
		return
	}
	if err != nil {
		for _, r := range batch {
			if r.err == nil {
				r.err = err
			}
		}
	}
}

// commitCreatesSplit commits two halves of a batch that was too big for
// one transaction.
func (s *BadgerStore) commitCreatesSplit(parts ...[]*createReq) {
	for _, p := range parts {
		done := make([]*createReq, len(p))
		for i, r := range p {
			done[i] = &createReq{o: r.o, jobs: r.jobs, done: make(chan struct{})}
		}
		s.commitCreates(done)
		for i, r := range p {
			r.err = done[i].err
		}
	}
}
