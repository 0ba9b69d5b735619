package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Tx collects what an Update function wants written besides the order:
// outbox jobs, buyer details and a note for the history.
type Tx struct {
	jobs     []Job
	drops    []string
	buyer    *Buyer
	buyerTTL time.Duration
	note     string
}

// Enqueue adds an outbox job, written in the same transaction as the change.
func (tx *Tx) Enqueue(j Job) { tx.jobs = append(tx.jobs, j) }

// DropJob removes an outbox job (waiting or given up on) in the same
// transaction as the change: the work it stood for is done.
func (tx *Tx) DropJob(id string) { tx.drops = append(tx.drops, id) }

// Dropped are the jobs an Update function removed.
func (tx *Tx) Dropped() []string { return tx.drops }

// Note sets the note of the history entry this change writes.
func (tx *Tx) Note(format string, args ...any) { tx.note = fmt.Sprintf(format, args...) }

// SetBuyer writes buyer details in the same transaction; they vanish after
// ttl.
func (tx *Tx) SetBuyer(b Buyer, ttl time.Duration) { tx.buyer, tx.buyerTTL = &b, ttl }

// Jobs are the outbox jobs an Update function enqueued.
func (tx *Tx) Jobs() []Job { return tx.jobs }

// Buyer returns the buyer details an Update function set, and their time
// to live.
func (tx *Tx) Buyer() (*Buyer, time.Duration) { return tx.buyer, tx.buyerTTL }

// Transition is the engine-neutral core of Update: it runs fn on a copy of
// cur, derives the status, validates the change and adds the history
// entry. Every engine's Update calls it inside its own transaction (with
// cur read under the order's lock) and writes what it returns: Encoded when
// OrderChanged, the Tx's jobs and buyer details in any case. It changes
// nothing itself.
//
// stored is cur as the engine read it, when the engine keeps the bytes it
// wrote (nil otherwise): a change that leaves the order's encoding as
// stored is no change, and nothing is written.
func Transition(cur *Order, stored []byte, src Source, now time.Time, historyLimit int, fn func(o *Order, tx *Tx) error) (*TransitionResult, error) {
	before := stored
	if before == nil {
		var err error
		if before, err = json.Marshal(cur); err != nil {
			return nil, err
		}
	}
	work := cur.Clone()
	tx := &Tx{}
	ferr := fn(work, tx)
	switch {
	case errors.Is(ferr, ErrNoChange):
		work = cur
	case ferr != nil:
		return nil, ferr
	default:
		if err := settleStatus(cur, work); err != nil {
			return nil, err
		}
	}
	res := &TransitionResult{Tx: tx, After: cur}
	if work == cur {
		return res, nil
	}
	after, err := json.Marshal(work)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(before, after) {
		return res, nil
	}
	if err := validate(cur, work); err != nil {
		return nil, err
	}
	if work.Status != cur.Status || tx.note != "" {
		work.History = appendHistory(work.History, HistoryEntry{At: now, Source: src, From: cur.Status, To: work.Status, Note: tx.note}, historyLimit)
	}
	work.UpdatedAt = now
	if res.Encoded, err = json.Marshal(work); err != nil {
		return nil, err
	}
	res.After, res.OrderChanged = work, true
	return res, nil
}

// TransitionResult is what Transition decided.
type TransitionResult struct {
	// After is the order to write (cur when nothing changed).
	After *Order
	// OrderChanged tells whether After must be written.
	OrderChanged bool
	// Encoded is After as JSON, to be written when OrderChanged.
	Encoded []byte
	// Tx holds the jobs and buyer details to write with it.
	Tx *Tx
}

// Empty reports whether there is nothing to write at all.
func (r *TransitionResult) Empty() bool {
	return !r.OrderChanged && len(r.Tx.jobs) == 0 && len(r.Tx.drops) == 0 && r.Tx.buyer == nil
}

// appendHistory keeps the first entry and the newest ones.
func appendHistory(h []HistoryEntry, e HistoryEntry, limit int) []HistoryEntry {
	h = append(h, e)
	if len(h) > limit && limit > 1 {
		keep := make([]HistoryEntry, 0, limit)
		keep = append(keep, h[0])
		keep = append(keep, h[len(h)-(limit-1):]...)
		h = keep
	}
	return h
}
