package sim

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Fault changes what the next calls of an operation get. Operations:
// token, create, get, events, capture, cancel, refund, approve, receipt,
// category, order, image, webhooks (register/list/delete), or "*" for all.
type Fault struct {
	Operation string `json:"operation"`
	// Status answers with this status (problem+json) without doing anything.
	Status int `json:"status,omitempty"`
	// RetryAfter adds a Retry-After header, e.g. "1s" (sent in seconds).
	RetryAfter Duration `json:"retry_after,omitempty"`
	// Delay sleeps this long before handling the call.
	Delay Duration `json:"delay,omitempty"`
	// DropAfterCommit does the operation, then closes the connection
	// without an answer: "committed, but the response was lost".
	DropAfterCommit bool `json:"drop_after_commit,omitempty"`
	// StatusAfterCommit does the operation, then answers with this status
	// (problem+json) instead of its own answer: "applied, but answered 409
	// (or 500)", as a gateway or a busy Vipps may answer a request it has
	// carried out.
	StatusAfterCommit int `json:"status_after_commit,omitempty"`
	Budget
}

// Budget says how often a fault applies.
type Budget struct {
	// Count is how many calls (or events) the fault applies to. With Rate
	// set, zero means without limit.
	Count int `json:"count,omitempty"`
	// Rate applies the fault to this fraction of calls (0..1) instead of
	// to every call.
	Rate float64 `json:"rate,omitempty"`
	// Applied counts the calls it changed.
	Applied int `json:"applied"`
}

// normalize makes a budget without count or rate apply once.
func (b *Budget) normalize() {
	if b.Count <= 0 && b.Rate <= 0 {
		b.Count = 1
	}
}

// spend reports whether the fault applies to this call, and whether it is
// used up afterwards.
func (b *Budget) spend() (apply, spent bool) {
	if b.Rate > 0 && rand.Float64() >= b.Rate {
		return false, false
	}
	b.Applied++
	if b.Count > 0 {
		b.Count--
		return true, b.Count == 0
	}
	return true, false
}

// takeFrom returns a copy of the first fault in list that applies (match
// and its budget), removing it once used up.
func takeFrom[T any](list *[]*T, budget func(*T) *Budget, match func(*T) bool) *T {
	for i, f := range *list {
		if !match(f) {
			continue
		}
		apply, spent := budget(f).spend()
		if !apply {
			continue
		}
		c := *f
		if spent {
			*list = append((*list)[:i], (*list)[i+1:]...)
		}
		return &c
	}
	return nil
}

// Duration is a time.Duration that reads and writes "1.5s" in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(time.Duration(d).String())), nil
}

// UnmarshalJSON reads "1.5s" or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if s, err := strconv.Unquote(string(b)); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return err
	}
	*d = Duration(n)
	return nil
}

// faultList holds the API faults under a lock of its own: every API call
// looks at it, and while it is empty that look is one atomic load.
type faultList struct {
	n  atomic.Int32
	mu sync.Mutex
	fs []*Fault
}

func (l *faultList) add(f *Fault) {
	l.mu.Lock()
	l.fs = append(l.fs, f)
	l.n.Store(int32(len(l.fs)))
	l.mu.Unlock()
}

func (l *faultList) clear() {
	l.mu.Lock()
	l.fs = nil
	l.n.Store(0)
	l.mu.Unlock()
}

func (l *faultList) list() []Fault {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Fault, 0, len(l.fs))
	for _, f := range l.fs {
		out = append(out, *f)
	}
	return out
}

// take returns the fault that applies to this call of op, if any.
func (l *faultList) take(op string) *Fault {
	if l.n.Load() == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f := takeFrom(&l.fs, func(f *Fault) *Budget { return &f.Budget },
		func(f *Fault) bool { return f.Operation == op || f.Operation == "*" })
	l.n.Store(int32(len(l.fs)))
	return f
}

// InjectFault adds a fault.
func (s *Simulator) InjectFault(f Fault) {
	f.normalize()
	s.faults.add(&f)
}

// ClearFaults removes every API and webhook fault.
func (s *Simulator) ClearFaults() {
	s.faults.clear()
	s.mu.Lock()
	s.hookFaults = nil
	s.mu.Unlock()
}

// withFaults runs h for operation op, applying an injected fault.
func (s *Simulator) withFaults(w http.ResponseWriter, r *http.Request, op string, h http.HandlerFunc) {
	s.calls.add(op)
	f := s.faults.take(op)
	if f == nil {
		h(w, r)
		return
	}
	s.log.Debug("fault injected")
	if f.Delay > 0 {
		select {
		case <-time.After(time.Duration(f.Delay)):
		case <-r.Context().Done():
			return
		}
	}
	if f.Status != 0 {
		e := domainErr(f.Status, "", http.StatusText(f.Status), "injected by the simulator")
		if f.RetryAfter > 0 {
			e.retry = strconv.Itoa(int((time.Duration(f.RetryAfter) + time.Second - 1) / time.Second))
		}
		writeProblem(w, r, e)
		return
	}
	if f.StatusAfterCommit != 0 {
		h(httptest.NewRecorder(), r)
		writeProblem(w, r, domainErr(f.StatusAfterCommit, "", http.StatusText(f.StatusAfterCommit), "injected by the simulator after the operation was carried out"))
		return
	}
	if f.DropAfterCommit {
		h(httptest.NewRecorder(), r)
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	h(w, r)
}
