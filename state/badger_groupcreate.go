package state

import (
	"errors"
	"sync"
	"time"

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
//
// Under load a leader also gathers before it writes: when the batch before
// held more than one order, it waits until as many orders wait as that
// batch held — a quarter more when the gathering before it filled up in
// time, so that batches grow with the load instead of staying at the size
// they first had — but no longer than that batch's commit took (see
// gather). Each commit costs Badger an msync of its write-ahead log, an
// msync of its value log and the page faults of writing to the log after
// them, whatever the commit's size, so fewer, larger commits cost less CPU
// per order; the wait is at most one commit's time, what an order
// arriving just after a leader started waits anyway. A buyer alone
// (batches of one) never waits.
type createBatch struct {
	mu      sync.Mutex
	leading bool
	queue   []*createReq
	// last is how many orders the last batch held, and took how long its
	// commit took.
	last int
	took time.Duration
	// want, while a leader gathers, is the queue length that ends the
	// gathering; full is signalled when the queue reaches it; filled
	// records that the last gathering ended so, before its time was up.
	want   int
	full   chan struct{}
	filled bool
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

// maxGather bounds a leader's gathering (see createBatch), whatever the
// last commit took.
const maxGather = 2 * time.Millisecond

// createGrouped stores a new order in the next batch (see createBatch).
func (s *BadgerStore) createGrouped(o *Order, jobs []Job) error {
	r := &createReq{o: o, jobs: jobs, done: make(chan struct{}), lead: make(chan struct{})}
	b := &s.creates
	b.mu.Lock()
	b.add(r)
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
	b.gather()
	n := min(len(b.queue), maxCreateBatch)
	batch := b.queue[:n:n]
	b.queue = b.queue[n:]
	b.mu.Unlock()

	started := time.Now()
	s.commitCreates(batch)
	took := time.Since(started)

	b.mu.Lock()
	b.last, b.took = n, took
	if len(b.queue) > 0 {
		close(b.queue[0].lead)
	} else {
		b.leading = false
	}
	b.mu.Unlock()
	return r.err
}

// add queues a Create, with b.mu held, and ends a gathering it fills.
func (b *createBatch) add(r *createReq) {
	b.queue = append(b.queue, r)
	if b.want > 0 && len(b.queue) >= b.want {
		b.want = 0
		b.full <- struct{}{}
	}
}

// gather makes the leader wait, with b.mu held on entry and on return,
// until as many orders wait as the last batch held (a quarter more, at
// least one, when the last gathering filled up), or for as long as its
// commit took (at most maxGather), when that batch held more than one.
func (b *createBatch) gather() {
	want := b.last
	if b.filled {
		want += max(1, b.last/4)
	}
	want = min(want, maxCreateBatch)
	b.filled = false
	if b.last < 2 || len(b.queue) >= want {
		return
	}
	if b.full == nil {
		b.full = make(chan struct{}, 1)
	}
	b.want = want
	wait := min(b.took, maxGather)
	b.mu.Unlock()
	t := time.NewTimer(wait)
	filled := false
	select {
	case <-b.full:
		filled = true
	case <-t.C:
	}
	t.Stop()
	b.mu.Lock()
	b.want, b.filled = 0, filled
	select {
	case <-b.full: // signalled after the timer fired
	default:
	}
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
	err := s.retry(func(txn *badger.Txn) error {
		// The batch's orders are counted in the ledger's row of its
		// first order (the sums are the same whichever row of the hour
		// holds them): one row to read and write per batch, not one per
		// order.
		ledger := map[time.Time]LedgerRow{}
		for _, r := range batch {
			r.err = nil
			err := s.insertOrderOnly(txn, r.o)
			if errors.Is(err, ErrExists) {
				r.err = err
				continue
			}
			if err != nil {
				return err
			}
			addToHour(ledger, LedgerChange(nil, r.o, r.o.CreatedAt))
			for _, j := range r.jobs {
				if err := s.putJob(txn, j); err != nil {
					return err
				}
			}
		}
		for _, change := range ledger {
			if err := addLedger(txn, batch[0].o.Reference, change); err != nil {
				return err
			}
		}
		return nil
	})
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
