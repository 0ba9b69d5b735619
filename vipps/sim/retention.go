package sim

import (
	"slices"
	"strings"
	"time"

	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// lastChange is when the payment's latest event happened.
func (p *payment) lastChange() time.Time { return p.Events[len(p.Events)-1].Timestamp }

// armForget sets the retention timer of a payment that no longer waits for
// the buyer; call with s.mu held. A payment that changes again later keeps
// its timer, which moves on when it fires.
func (s *Simulator) armForget(p *payment) {
	if s.opts.Retention <= 0 || p.State == vipps.StateCreated || p.forgetArmed {
		return
	}
	p.forgetArmed = true
	s.schedule(p.lastChange().Add(s.opts.Retention), timerForget, payKey(p.MSN, p.Req.Reference))
}

// forgetIfDue forgets a finished payment once the retention has passed
// since its last change, or sets the timer again if it changed since;
// call with s.mu held.
func (s *Simulator) forgetIfDue(k string, p *payment, now time.Time) {
	if p.State == vipps.StateCreated || !p.forgetArmed {
		return
	}
	if due := p.lastChange().Add(s.opts.Retention); now.Before(due) {
		s.schedule(due, timerForget, k)
		return
	}
	s.forgetPayment(k, p)
}

// forgetPayment drops a payment and everything that belongs to it: its
// indexes, landing token, idempotency entries, delivery queues, receipt and
// category; call with s.mu held.
func (s *Simulator) forgetPayment(k string, p *payment) {
	p.forgotten = true
	delete(s.payments, k)
	s.refs.remove(p)
	if p.Sub != "" {
		s.subs.remove(p)
	}
	if p.LandingToken != "" {
		delete(s.landing, p.LandingToken)
	}
	for _, id := range s.idemByPay[k] {
		if s.idem[id] != nil {
			delete(s.idem, id)
			s.j.del(recIdem, id)
		}
	}
	delete(s.idemByPay, k)
	for hookID := range s.queues {
		if h := s.hooks[hookID]; h != nil && h.MSN == p.MSN {
			s.dropQueue(hookID, p.Req.Reference)
		}
	}
	for _, ptype := range paymentTypes {
		s.dropOrder(orderKey(p.MSN, ptype, p.Req.Reference), time.Time{})
	}
	s.j.del(recPayment, k)
}

// forgetIdemIfOrphan forgets an idempotency entry whose retention has
// passed, unless its reference has a payment, with which it goes; call
// with s.mu held.
func (s *Simulator) forgetIdemIfOrphan(id string) {
	e := s.idem[id]
	if e == nil || s.payments[e.payKey] != nil {
		return
	}
	delete(s.idem, id)
	s.j.del(recIdem, id)
	ids := slices.DeleteFunc(s.idemByPay[e.payKey], func(x string) bool { return x == id })
	if len(ids) == 0 {
		delete(s.idemByPay, e.payKey)
	} else {
		s.idemByPay[e.payKey] = ids
	}
}

// forgetOrderIfOrphan forgets the receipt and category of an order whose
// retention has passed, unless the order has a payment, with which they go;
// call with s.mu held.
func (s *Simulator) forgetOrderIfOrphan(k string, now time.Time) {
	msn, rest, _ := strings.Cut(k, "/")
	_, orderID, _ := strings.Cut(rest, "/")
	if s.payments[payKey(msn, orderID)] != nil {
		return
	}
	s.dropOrder(k, now.Add(-s.opts.Retention))
}

// dropOrder removes the receipt and category of an order made no later than
// before (all of them when before is zero); call with s.mu held.
func (s *Simulator) dropOrder(k string, before time.Time) {
	if e := s.receipts[k]; e != nil && (before.IsZero() || !e.At.After(before)) {
		delete(s.receipts, k)
		s.j.del(recReceipt, k)
	}
	if c := s.categories[k]; c != nil && (before.IsZero() || !c.At.After(before)) {
		delete(s.categories, k)
		s.j.del(recCategory, k)
	}
}

// keepOrder sets the retention timer of a receipt or category; call with
// s.mu held.
func (s *Simulator) keepOrder(k string, at time.Time) {
	if s.opts.Retention > 0 {
		s.schedule(at.Add(s.opts.Retention), timerOrder, k)
	}
}
