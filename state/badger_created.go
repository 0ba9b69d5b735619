package state

import (
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// The one write of a checkout that has no fsync of its own.
//
// A checkout stores its order, as pending and with the create call's
// Idempotency-Key, in one synced commit before Vipps hears of it. Vipps'
// answer (the payment exists; the buyer's address at Vipps) used to be a
// second synced commit. It need not be: everything in it can be asked of
// Vipps again — the poller reads the payment's state, and the create sent
// again with the stored key answers with the same address — so losing it
// loses nothing, while its fsync cost as much as the order's, and even an
// unsynced commit of its own (measured with a second, unsynced Badger
// database) cost a third of the proxied create's CPU. Badger syncs per
// database, not per commit, so the answer is instead kept in memory and
// written with the next commit of new orders (see createBatch), which
// happens at once on a busy shop; on a quiet one, a commit of the answers
// alone follows within answerFlushDelay, and Close writes what is left.
// Until then, and after, every read of an order whose payment is not yet
// known merges the answer in (a map lookup, and one key read in the same
// transaction, only for such orders), and the order's next transition
// writes it with the order. A crash before that loses the answer; the
// order, its key and its notification were on disk before the create.

const (
	// prefixCreateAnswer keys an order's create answer kept apart from
	// the order: ca/<ref>.
	prefixCreateAnswer = "ca/"
	// answerTTL: long after any order's next transition (the poller's
	// first look comes seconds later), the key is no longer needed.
	answerTTL = 7 * 24 * time.Hour
	// answerFlushDelay is how long an answer waits in memory for a commit
	// of new orders to go with before it is committed on its own.
	answerFlushDelay = 100 * time.Millisecond
)

// answers are create answers recorded and not yet written.
type answers struct {
	mu      sync.Mutex
	pending map[string]CreateAnswer
	timer   *time.Timer
}

// RecordCreated implements Store: the answer is kept in memory and written
// with the next commit of new orders (see above), without reading the
// order.
func (s *BadgerStore) RecordCreated(ref string, a CreateAnswer) error {
	s.gate.RLock()
	defer s.gate.RUnlock()
	if s.closed {
		return ErrClosed
	}
	w := &s.answers
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pending == nil {
		w.pending = map[string]CreateAnswer{}
	}
	if kept, ok := w.pending[ref]; ok && kept.RedirectURL == a.RedirectURL {
		return nil // the first answer stands: one sent again answers the same
	}
	w.pending[ref] = a
	if w.timer == nil {
		w.timer = time.AfterFunc(answerFlushDelay, s.flushAnswers)
	}
	return nil
}

// pendingAnswer returns the answer for ref that waits in memory.
func (s *BadgerStore) pendingAnswer(ref string) (CreateAnswer, bool) {
	w := &s.answers
	w.mu.Lock()
	defer w.mu.Unlock()
	a, ok := w.pending[ref]
	return a, ok
}

// takeAnswers returns the answers waiting in memory, to be written in txn.
func (s *BadgerStore) takeAnswers() map[string]CreateAnswer {
	w := &s.answers
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) == 0 {
		return nil
	}
	out := make(map[string]CreateAnswer, len(w.pending))
	for ref, a := range w.pending {
		out[ref] = a
	}
	return out
}

// writeAnswers writes answers in txn.
func writeAnswers(txn *badger.Txn, all map[string]CreateAnswer) error {
	for ref, a := range all {
		data, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if err := txn.SetEntry(badger.NewEntry([]byte(prefixCreateAnswer+ref), data).WithTTL(answerTTL)); err != nil {
			return err
		}
	}
	return nil
}

// answersWritten forgets the answers a commit wrote (unless a newer one
// came meanwhile).
func (s *BadgerStore) answersWritten(all map[string]CreateAnswer) {
	if len(all) == 0 {
		return
	}
	w := &s.answers
	w.mu.Lock()
	defer w.mu.Unlock()
	for ref, a := range all {
		if cur, ok := w.pending[ref]; ok && cur == a {
			delete(w.pending, ref)
		}
	}
}

// flushAnswers commits the answers that no commit of new orders took.
func (s *BadgerStore) flushAnswers() {
	w := &s.answers
	w.mu.Lock()
	w.timer = nil
	w.mu.Unlock()
	all := s.takeAnswers()
	if len(all) == 0 {
		return
	}
	err := s.retry(func(txn *badger.Txn) error { return writeAnswers(txn, all) })
	if err == nil {
		s.answersWritten(all)
		return
	}
	if errors.Is(err, ErrClosed) {
		return
	}
	w.mu.Lock()
	if w.timer == nil {
		w.timer = time.AfterFunc(answerFlushDelay, s.flushAnswers)
	}
	w.mu.Unlock()
}

// mergeAnswer merges an order's create answer, if one is kept apart, into
// o as read in txn. Only an order whose payment is not known yet (or whose
// address at Vipps is not) is looked up. It reports whether o changed.
func (s *BadgerStore) mergeAnswer(txn *badger.Txn, o *Order) (bool, error) {
	if o.Payment.State != "" && (o.RedirectURL != "" || o.Payment.State != vippsCreated) {
		return false, nil
	}
	var a CreateAnswer
	err := getJSON(txn, prefixCreateAnswer+o.Reference, &a)
	switch {
	case errors.Is(err, ErrNotFound):
		var ok bool
		if a, ok = s.pendingAnswer(o.Reference); !ok {
			return false, nil
		}
	case err != nil:
		return false, err
	}
	return o.applyCreatedRecord(a, s.history), nil
}
