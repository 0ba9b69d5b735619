package sim

import (
	"container/heap"
	"time"
)

// timerKind says what falls due when a timer fires.
type timerKind uint8

const (
	timerExpire  timerKind = iota // a CREATED payment reaches its deadline; key: payment
	timerForget                   // a finished payment's retention ends; key: payment
	timerDeliver                  // a delivery queue's first event is due; key: queue
	timerRelease                  // a reordered event held back is let go; key: queue
	timerToken                    // an access token expires; key: token
	timerIdem                     // the retention of an idempotency entry ends; key: entry
	timerOrder                    // the retention of a receipt or category ends; key: order
)

// timer is one deadline on the simulator's clock. Timers are hints: when
// one fires, the handler looks at the current state and does nothing if the
// thing it names has changed or is gone, so a timer is never cancelled.
type timer struct {
	at   time.Time
	kind timerKind
	key  string
}

// timerHeap orders timers by deadline (container/heap).
type timerHeap []timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = timer{}
	*h = old[:len(old)-1]
	return t
}

// schedule adds a timer; call with s.mu held.
func (s *Simulator) schedule(at time.Time, kind timerKind, key string) {
	heap.Push(&s.timers, timer{at: at, kind: kind, key: key})
}

// dueBatch bounds how many timers one hold of the lock handles, so that a
// clock advance that makes a hundred thousand payments due does not stall
// the API while they expire.
const dueBatch = 1024

// runDue handles every timer that is due by the simulator's clock, in
// deadline order, and starts the webhook deliveries that became due. It
// looks only at what is due: the cost of a call that finds nothing is one
// look at the earliest deadline.
func (s *Simulator) runDue() {
	for {
		s.mu.Lock()
		now := s.clock.Now()
		var jobs []deliveryJob
		for n := 0; n < dueBatch && len(s.timers) > 0 && !s.timers[0].at.After(now); n++ {
			t := heap.Pop(&s.timers).(timer)
			if job, ok := s.fire(t, now); ok {
				jobs = append(jobs, job)
			}
		}
		more := len(s.timers) > 0 && !s.timers[0].at.After(now)
		s.mu.Unlock()
		s.startDeliveries(jobs)
		if !more {
			return
		}
	}
}

// fire handles one due timer; call with s.mu held. It returns a delivery
// to start, if the timer made one due.
func (s *Simulator) fire(t timer, now time.Time) (deliveryJob, bool) {
	switch t.kind {
	case timerExpire:
		if p := s.payments[t.key]; p != nil {
			s.expireLocked(p)
		}
	case timerForget:
		if p := s.payments[t.key]; p != nil {
			s.forgetIfDue(t.key, p, now)
		}
	case timerDeliver:
		return s.dueDelivery(t.key, now)
	case timerRelease:
		s.releaseHeld(t.key, now)
	case timerToken:
		s.tokens.expire(t.key, now)
	case timerIdem:
		s.forgetIdemIfOrphan(t.key)
	case timerOrder:
		s.forgetOrderIfOrphan(t.key, now)
	}
	return deliveryJob{}, false
}
