// Package storefault wraps an order store with the faults a real database
// has, for tests: a commit applied whose answer is lost, a commit refused,
// a read that fails, and a store closed under its callers (a reload). A
// test decides, call by call, which fault (if any) each call meets; the
// wrapped store itself stays correct, so what the test then reads from it
// directly is the truth the shop must not contradict.
package storefault

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// Fault is what one call to the store meets.
type Fault int

// Faults.
const (
	// None: the call goes through.
	None Fault = iota
	// LoseAnswer applies a write, then reports state.ErrOutcomeUnknown: the
	// commit went through, its answer was lost, and the database could not
	// be asked. On a read it is Refuse.
	LoseAnswer
	// Refuse reports state.ErrUnavailable without doing anything.
	Refuse
	// Close closes the store: this call and every later one get
	// state.ErrClosed until Reopen.
	Close
)

func (f Fault) String() string {
	switch f {
	case LoseAnswer:
		return "lose-answer"
	case Refuse:
		return "refuse"
	case Close:
		return "close"
	}
	return "none"
}

// Call names a call: the store method, and whether it writes.
type Call struct {
	Method string
	Write  bool
	// Ref is the order the call is about, when it is about one.
	Ref string
}

// Store is a state.Store with faults. Methods it does not list pass
// through untouched.
type Store struct {
	state.Store

	mu     sync.Mutex
	decide func(Call) Fault
	closed bool
	counts map[Fault]int
}

// Wrap wraps s; with no decider set, every call goes through.
func Wrap(s state.Store) *Store {
	return &Store{Store: s, counts: map[Fault]int{}}
}

// Decide sets what decides each call's fault (nil: none).
func (s *Store) Decide(fn func(Call) Fault) {
	s.mu.Lock()
	s.decide = fn
	s.mu.Unlock()
}

// Reopen undoes Close: the store answers again (as a reloaded shop opens
// its database again).
func (s *Store) Reopen() {
	s.mu.Lock()
	s.closed = false
	s.mu.Unlock()
}

// Injected counts the faults calls met, by kind.
func (s *Store) Injected() map[Fault]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[Fault]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// fault decides a call's fault.
func (s *Store) fault(c Call) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Close
	}
	if s.decide == nil {
		return None
	}
	f := s.decide(c)
	if f == LoseAnswer && !c.Write {
		f = Refuse
	}
	if f == Close {
		s.closed = true
	}
	if f != None {
		s.counts[f]++
	}
	return f
}

func refused(c Call) error {
	return fmt.Errorf("%w: injected: %s refused", state.ErrUnavailable, c.Method)
}

func lost(c Call) error {
	return fmt.Errorf("%w: injected: the answer to %s was lost", state.ErrOutcomeUnknown, c.Method)
}

func closed(c Call) error {
	return fmt.Errorf("%w: injected: closed under %s", state.ErrClosed, c.Method)
}

// write runs a write with its fault.
func (s *Store) write(c Call, do func() error) error {
	c.Write = true
	switch s.fault(c) {
	case Refuse:
		return refused(c)
	case Close:
		return closed(c)
	case LoseAnswer:
		if err := do(); err != nil {
			return err
		}
		return lost(c)
	}
	return do()
}

// read runs a read with its fault.
func (s *Store) read(c Call) error {
	switch s.fault(c) {
	case Refuse, LoseAnswer:
		return refused(c)
	case Close:
		return closed(c)
	}
	return nil
}

// Create implements state.Store.
func (s *Store) Create(o *state.Order, jobs ...state.Job) error {
	return s.write(Call{Method: "Create", Ref: o.Reference}, func() error { return s.Store.Create(o, jobs...) })
}

// Get implements state.Store.
func (s *Store) Get(ref string) (*state.Order, error) {
	if err := s.read(Call{Method: "Get", Ref: ref}); err != nil {
		return nil, err
	}
	return s.Store.Get(ref)
}

// Update implements state.Store.
func (s *Store) Update(ref string, src state.Source, fn func(o *state.Order, tx *state.Tx) error) (*state.Order, bool, error) {
	var (
		after   *state.Order
		changed bool
	)
	err := s.write(Call{Method: "Update", Ref: ref}, func() error {
		var err error
		after, changed, err = s.Store.Update(ref, src, fn)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return after, changed, nil
}

// List implements state.Store.
func (s *Store) List(cursor string, limit int, f state.ListFilter) ([]*state.Order, string, error) {
	if err := s.read(Call{Method: "List"}); err != nil {
		return nil, "", err
	}
	return s.Store.List(cursor, limit, f)
}

// ClaimChecks implements state.Store.
func (s *Store) ClaimChecks(now time.Time, lease time.Duration, max int) ([]string, error) {
	var refs []string
	err := s.write(Call{Method: "ClaimChecks"}, func() error {
		var err error
		refs, err = s.Store.ClaimChecks(now, lease, max)
		return err
	})
	return refs, err
}

// PutBuyer implements state.Store.
func (s *Store) PutBuyer(ref string, b state.Buyer, ttl time.Duration) error {
	return s.write(Call{Method: "PutBuyer", Ref: ref}, func() error { return s.Store.PutBuyer(ref, b, ttl) })
}

// Buyer implements state.Store.
func (s *Store) Buyer(ref string) (*state.Buyer, error) {
	if err := s.read(Call{Method: "Buyer", Ref: ref}); err != nil {
		return nil, err
	}
	return s.Store.Buyer(ref)
}

// ClaimJobs implements state.Store.
func (s *Store) ClaimJobs(now time.Time, lease time.Duration, max int) ([]state.Job, error) {
	var jobs []state.Job
	err := s.write(Call{Method: "ClaimJobs"}, func() error {
		var err error
		jobs, err = s.Store.ClaimJobs(now, lease, max)
		return err
	})
	return jobs, err
}

// CompleteJob implements state.Store.
func (s *Store) CompleteJob(j state.Job) error {
	return s.write(Call{Method: "CompleteJob", Ref: j.Ref}, func() error { return s.Store.CompleteJob(j) })
}

// RetryJob implements state.Store.
func (s *Store) RetryJob(j state.Job, cause error, next time.Time) error {
	return s.write(Call{Method: "RetryJob", Ref: j.Ref}, func() error { return s.Store.RetryJob(j, cause, next) })
}

// DeadJob implements state.Store.
func (s *Store) DeadJob(j state.Job, cause error) error {
	return s.write(Call{Method: "DeadJob", Ref: j.Ref}, func() error { return s.Store.DeadJob(j, cause) })
}

// BeginRequest implements state.Store.
func (s *Store) BeginRequest(key, fingerprint, ref string, inFlight time.Duration) (*state.KeyedRequest, bool, error) {
	var (
		rec   *state.KeyedRequest
		fresh bool
	)
	err := s.write(Call{Method: "BeginRequest", Ref: ref}, func() error {
		var err error
		rec, fresh, err = s.Store.BeginRequest(key, fingerprint, ref, inFlight)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return rec, fresh, nil
}

// AnswerRequest implements state.Store.
func (s *Store) AnswerRequest(key string, a state.Answer) error {
	return s.write(Call{Method: "AnswerRequest"}, func() error { return s.Store.AnswerRequest(key, a) })
}

// ForgetRequest implements state.Store.
func (s *Store) ForgetRequest(key string) error {
	return s.write(Call{Method: "ForgetRequest"}, func() error { return s.Store.ForgetRequest(key) })
}

// CreateLink implements state.Store.
func (s *Store) CreateLink(l *state.Link) error {
	return s.write(Call{Method: "CreateLink"}, func() error { return s.Store.CreateLink(l) })
}

// GetLink implements state.Store.
func (s *Store) GetLink(id string) (*state.Link, error) {
	if err := s.read(Call{Method: "GetLink"}); err != nil {
		return nil, err
	}
	return s.Store.GetLink(id)
}

// LinkByToken implements state.Store.
func (s *Store) LinkByToken(tokenHash string) (*state.Link, error) {
	if err := s.read(Call{Method: "LinkByToken"}); err != nil {
		return nil, err
	}
	return s.Store.LinkByToken(tokenHash)
}

// UpdateLink implements state.Store.
func (s *Store) UpdateLink(id string, fn func(l *state.Link) error) (*state.Link, error) {
	var l *state.Link
	err := s.write(Call{Method: "UpdateLink"}, func() error {
		var err error
		l, err = s.Store.UpdateLink(id, fn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// CreateLinkOrder implements state.Store.
func (s *Store) CreateLinkOrder(id string, o *state.Order, fn func(l *state.Link, holder *state.Order) error, jobs ...state.Job) (*state.Link, error) {
	var l *state.Link
	err := s.write(Call{Method: "CreateLinkOrder", Ref: o.Reference}, func() error {
		var err error
		l, err = s.Store.CreateLinkOrder(id, o, fn, jobs...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// Exclusive implements state.Store.
func (s *Store) Exclusive(ctx context.Context, name string, fn func() error) error {
	if err := s.read(Call{Method: "Exclusive"}); err != nil {
		return err
	}
	return s.Store.Exclusive(ctx, name, fn)
}

// Interface guard
var _ state.Store = (*Store)(nil)

// RecordCreated implements state.Store.
func (s *Store) RecordCreated(ref string, a state.CreateAnswer) error {
	return s.write(Call{Method: "RecordCreated", Ref: ref}, func() error { return s.Store.RecordCreated(ref, a) })
}
