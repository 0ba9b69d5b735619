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
// database, not per commit, so the answer is instead held in memory until
// the order's next write carries it: every read of the order merges it in
// (a map lookup, and for an order whose payment is not yet known one key
// read), so the next transition, or the poller's first look at the order
// (5 s after checkout, which writes the order), stores the order with it,
// and the answer is then forgotten without a write of its own. Only an
// answer whose order has not been written within answerHold is written
// on its own (in a key of its own, read the same way), as are all of them
// when more than maxHeldAnswers wait, and whatever is left at Close. A
// crash loses the answers held; the order, its key and its notification
// were on disk before the create.

const (
	// prefixCreateAnswer keys an order's create answer written apart from
	// the order: ca/<ref>.
	prefixCreateAnswer = "ca/"
	// answerTTL: long after any order's next transition (the poller's
	// first look comes seconds later), the key is no longer needed.
	answerTTL = 7 * 24 * time.Hour
	// answerHold is how long an answer waits in memory for its order's
	// next write before it is written on its own: several of the poller's
	// first looks, which come 5 s after checkout.
	answerHold = 30 * time.Second
	// maxHeldAnswers bounds the answers in memory (a few hundred bytes
	// each): beyond it, all are written (answerChunk per commit, within
	// Badger's largest batch). A shop taking 3,000 checkouts a second
	// holds about 15,000, until the poller's first looks.
	maxHeldAnswers = 1 << 15
	answerChunk    = 512
)

// answers are create answers recorded and not yet on disk.
type answers struct {
	mu    sync.Mutex
	held  map[string]heldAnswer
	timer *time.Timer
	// flush writes the answers due (BadgerStore.flushAnswers).
	flush func()
	// hold and max are answerHold and maxHeldAnswers (tests shorten them).
	hold time.Duration
	max  int
}

// heldAnswer is an answer in memory and when it came.
type heldAnswer struct {
	answer CreateAnswer
	since  time.Time
}

// RecordCreated implements Store: the answer is held in memory until the
// order's next write carries it (see above), without reading the order.
func (s *BadgerStore) RecordCreated(ref string, a CreateAnswer) error {
	s.gate.RLock()
	defer s.gate.RUnlock()
	if s.closed {
		return ErrClosed
	}
	w := &s.answers
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.held == nil {
		w.held = map[string]heldAnswer{}
	}
	if kept, ok := w.held[ref]; ok && kept.answer.RedirectURL == a.RedirectURL {
		return nil // the first answer stands: one sent again answers the same
	}
	w.held[ref] = heldAnswer{answer: a, since: time.Now()}
	switch {
	case len(w.held) >= w.limit():
		w.arm(0)
	case w.timer == nil:
		w.arm(w.holdFor())
	}
	return nil
}

func (w *answers) holdFor() time.Duration {
	if w.hold > 0 {
		return w.hold
	}
	return answerHold
}

func (w *answers) limit() int {
	if w.max > 0 {
		return w.max
	}
	return maxHeldAnswers
}

// arm sets the timer that writes due answers to fire in d (with w.mu
// held).
func (w *answers) arm(d time.Duration) {
	if w.timer != nil {
		w.timer.Reset(d)
		return
	}
	w.timer = time.AfterFunc(d, w.flush)
}

// heldAnswer returns the answer for ref held in memory.
func (s *BadgerStore) heldAnswer(ref string) (CreateAnswer, bool) {
	w := &s.answers
	w.mu.Lock()
	defer w.mu.Unlock()
	h, ok := w.held[ref]
	return h.answer, ok
}

// answersStored forgets the held answers that orders just written carry:
// their write put the answer on disk with the order.
func (s *BadgerStore) answersStored(orders ...*Order) {
	w := &s.answers
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, o := range orders {
		h, ok := w.held[o.Reference]
		if ok && o.Payment.State != "" && o.RedirectURL == h.answer.RedirectURL {
			delete(w.held, o.Reference)
		}
	}
}

// takeAnswers returns the held answers to write: those held for hold or
// longer, or all of them (all set, or more than the limit held).
func (s *BadgerStore) takeAnswers(all bool) map[string]CreateAnswer {
	w := &s.answers
	w.mu.Lock()
	defer w.mu.Unlock()
	all = all || len(w.held) >= w.limit()
	now := time.Now()
	out := map[string]CreateAnswer{}
	for ref, h := range w.held {
		if all || now.Sub(h.since) >= w.holdFor() {
			out[ref] = h.answer
		}
	}
	return out
}

// writeAnswers writes answers on their own, answerChunk per commit made
// by write (retry, or commit while Close holds the gate).
func (s *BadgerStore) writeAnswers(all map[string]CreateAnswer, write func(func(*badger.Txn) error) error) error {
	chunk := make(map[string]CreateAnswer, min(len(all), answerChunk))
	put := func() error {
		err := write(func(txn *badger.Txn) error { return putAnswers(txn, chunk) })
		if err == nil {
			s.answersWritten(chunk)
		}
		clear(chunk)
		return err
	}
	for ref, a := range all {
		chunk[ref] = a
		if len(chunk) == answerChunk {
			if err := put(); err != nil {
				return err
			}
		}
	}
	if len(chunk) > 0 {
		return put()
	}
	return nil
}

// putAnswers writes answers in txn.
func putAnswers(txn *badger.Txn, all map[string]CreateAnswer) error {
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
	w := &s.answers
	w.mu.Lock()
	defer w.mu.Unlock()
	for ref, a := range all {
		if cur, ok := w.held[ref]; ok && cur.answer == a {
			delete(w.held, ref)
		}
	}
}

// flushAnswers writes the answers held too long (or too many), and sets
// the timer for the next that will be.
func (s *BadgerStore) flushAnswers() {
	w := &s.answers
	w.mu.Lock()
	w.timer = nil
	w.mu.Unlock()
	err := s.writeAnswers(s.takeAnswers(false), s.retry)
	if errors.Is(err, ErrClosed) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		return // armed by an answer that came meanwhile
	}
	if err != nil {
		w.arm(time.Second)
		return
	}
	var oldest time.Time
	for _, h := range w.held {
		if oldest.IsZero() || h.since.Before(oldest) {
			oldest = h.since
		}
	}
	if !oldest.IsZero() {
		w.arm(max(0, time.Until(oldest.Add(w.holdFor()))))
	}
}

// mergeAnswer merges an order's create answer, held in memory or written
// apart, into o as read in txn. Only an order whose payment is not known
// yet (or whose address at Vipps is not) is looked up. It reports whether
// o changed.
func (s *BadgerStore) mergeAnswer(txn *badger.Txn, o *Order) (bool, error) {
	if o.Payment.State != "" && (o.RedirectURL != "" || o.Payment.State != vippsCreated) {
		return false, nil
	}
	a, ok := s.heldAnswer(o.Reference)
	if !ok {
		switch err := getJSON(txn, prefixCreateAnswer+o.Reference, &a); {
		case errors.Is(err, ErrNotFound):
			return false, nil
		case err != nil:
			return false, err
		}
	}
	return o.applyCreatedRecord(a, s.history), nil
}
