package sim

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// The record types in the data directory, and what their ids are.
const (
	recPayment  = "payment"  // msn/reference → payment
	recIdem     = "idem"     // msn|operation|reference|key → idemRecord
	recHook     = "hook"     // registration id → hookRecord
	recQueue    = "queue"    // registration id/reference → queueRecord
	recReceipt  = "receipt"  // msn/paymentType/orderId → receiptEntry
	recCategory = "category" // msn/paymentType/orderId → categoryEntry
	recImage    = "image"    // msn/imageId → imageEntry
	recClock    = "clock"    // "offset" → clockRecord
)

// hookRecord is a registration as the data directory keeps it: with the
// order it was made in.
type hookRecord struct {
	hook
	Seq int64 `json:"seq"`
}

// queueRecord is a delivery queue as the data directory keeps it.
type queueRecord struct {
	HookID string         `json:"hook_id"`
	Ref    string         `json:"reference"`
	Events []pendingEvent `json:"events"`
	Held   *pendingEvent  `json:"held,omitempty"`
}

// record copies a queue for the journal; call with s.mu held.
func (q *deliveryQueue) record() queueRecord {
	rec := queueRecord{HookID: q.hookID, Ref: q.ref, Events: make([]pendingEvent, len(q.events))}
	for i, e := range q.events {
		rec.Events[i] = *e
	}
	if q.held != nil {
		h := *q.held
		rec.Held = &h
	}
	return rec
}

// clockRecord is the default clock's offset from real time.
type clockRecord struct {
	Offset time.Duration `json:"offset_ns"`
}

// keepClock records the default clock's offset; call with s.mu held.
func (s *Simulator) keepClock() {
	if c, ok := s.clock.(*OffsetClock); ok {
		s.j.put(recClock, "offset", clockRecord{Offset: c.currentOffset()})
	}
}

// restore opens the data directory, loads what it holds, and rebuilds the
// indexes and timers; it runs before the simulator serves anything.
func (s *Simulator) restore(dir string) error {
	j, err := openJournal(dir, s.log, s.apply)
	if err != nil {
		return err
	}
	s.j = j
	s.rebuild()
	return nil
}

// apply loads one record from the data directory, replacing an earlier
// one with the same id.
func (s *Simulator) apply(l jline) error {
	switch l.T {
	case recReset:
		s.resetLocked()
		return nil
	case recPayment:
		return applyTo(s.payments, l)
	case recHook:
		if l.Del {
			delete(s.hooks, l.ID)
			delete(s.hookSeq, l.ID)
			return nil
		}
		var rec hookRecord
		if err := json.Unmarshal(l.V, &rec); err != nil {
			return err
		}
		s.hooks[l.ID], s.hookSeq[l.ID] = &rec.hook, rec.Seq
	case recIdem:
		if l.Del {
			delete(s.idem, l.ID)
			return nil
		}
		var rec idemRecord
		if err := json.Unmarshal(l.V, &rec); err != nil {
			return err
		}
		e, err := rec.entry()
		if err != nil {
			return err
		}
		s.idem[l.ID] = e
	case recQueue:
		hookID, ref, _ := strings.Cut(l.ID, "/")
		if l.Del {
			delete(s.queues[hookID], ref)
			return nil
		}
		var rec queueRecord
		if err := json.Unmarshal(l.V, &rec); err != nil {
			return err
		}
		q := s.queueFor(hookID, ref)
		q.events, q.held = nil, rec.Held
		for i := range rec.Events {
			q.events = append(q.events, &rec.Events[i])
		}
	case recReceipt:
		return applyTo(s.receipts, l)
	case recCategory:
		return applyTo(s.categories, l)
	case recImage:
		return applyTo(s.images, l)
	case recClock:
		var rec clockRecord
		if err := json.Unmarshal(l.V, &rec); err != nil {
			return err
		}
		if c, ok := s.clock.(*OffsetClock); ok {
			c.setOffset(rec.Offset)
		}
	}
	return nil
}

// applyTo loads a record of a type that is kept as it is.
func applyTo[T any](m map[string]*T, l jline) error {
	if l.Del {
		delete(m, l.ID)
		return nil
	}
	v := new(T)
	if err := json.Unmarshal(l.V, v); err != nil {
		return err
	}
	m[l.ID] = v
	return nil
}

// rebuild makes the indexes and timers of what restore loaded.
func (s *Simulator) rebuild() {
	payments := s.payments
	s.payments = make(map[string]*payment, len(payments))
	for k, p := range payments {
		if len(p.Events) == 0 {
			continue
		}
		s.seq = max(s.seq, p.Seq)
		s.addPayment(k, p)
		if p.State == vipps.StateCreated {
			s.waiting++
		}
		s.armForget(p)
	}
	for id, seq := range s.hookSeq {
		s.seq = max(s.seq, seq)
		s.hookOrder = append(s.hookOrder, id)
	}
	slices.SortFunc(s.hookOrder, func(a, b string) int { return cmp.Compare(s.hookSeq[a], s.hookSeq[b]) })
	if ret := s.opts.Retention; ret > 0 {
		for id, e := range s.idem {
			s.idemByPay[e.payKey] = append(s.idemByPay[e.payKey], id)
			s.schedule(e.at.Add(ret), timerIdem, id)
		}
		for k, e := range s.receipts {
			s.schedule(e.At.Add(ret), timerOrder, k)
		}
		for k, e := range s.categories {
			s.schedule(e.At.Add(ret), timerOrder, k)
		}
	}
	for hookID, m := range s.queues {
		for _, q := range m {
			if s.hooks[hookID] == nil {
				s.dropQueue(hookID, q.ref)
				continue
			}
			s.settle(q)
		}
	}
}
