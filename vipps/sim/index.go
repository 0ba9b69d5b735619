package sim

import (
	"slices"
)

// refIndex finds payments by reference alone, whatever the sales unit, for
// the control API. A reference is nearly always used by one sales unit, so
// the index holds one pointer per reference and keeps the rare others
// apart, which spares a slice per payment.
type refIndex struct {
	first map[string]*payment   // the earliest created payment with the reference
	more  map[string][]*payment // the others with it
}

func newRefIndex() refIndex {
	return refIndex{first: map[string]*payment{}, more: map[string][]*payment{}}
}

func (x refIndex) add(p *payment) {
	ref := p.Req.Reference
	f := x.first[ref]
	if f == nil {
		x.first[ref] = p
		return
	}
	if p.Seq < f.Seq {
		x.first[ref], p = p, f
	}
	x.more[ref] = append(x.more[ref], p)
}

func (x refIndex) remove(p *payment) {
	ref := p.Req.Reference
	l := x.more[ref]
	if x.first[ref] == p {
		if len(l) == 0 {
			delete(x.first, ref)
			return
		}
		i := 0
		for j, q := range l {
			if q.Seq < l[i].Seq {
				i = j
			}
		}
		x.first[ref] = l[i]
		p = l[i]
	}
	l = slices.DeleteFunc(l, func(q *payment) bool { return q == p })
	if len(l) == 0 {
		delete(x.more, ref)
	} else {
		x.more[ref] = l
	}
}

// earliest returns the earliest created payment with the reference, or nil.
func (x refIndex) earliest(ref string) *payment { return x.first[ref] }

// subIndex finds the payments in which a buyer shared a profile, by sub, in
// creation order, so that the Userinfo API answers from the most recent one
// without looking at any other payment. A sub names one buyer in one sales
// unit, so a list can grow long in a load test; forgotten payments are
// therefore marked and swept out in bulk rather than searched for.
type subIndex map[string]*subList

type subList struct {
	ps   []*payment // by Seq
	gone int        // forgotten payments still in ps
}

func (x subIndex) add(p *payment) {
	l := x[p.Sub]
	if l == nil {
		l = &subList{}
		x[p.Sub] = l
	}
	// Payments are nearly always authorized in the order they were
	// created, so this is an append.
	i := len(l.ps)
	for i > 0 && l.ps[i-1].Seq > p.Seq {
		i--
	}
	l.ps = slices.Insert(l.ps, i, p)
}

// remove drops a payment whose forgotten flag is set.
func (x subIndex) remove(p *payment) {
	l := x[p.Sub]
	if l == nil {
		return
	}
	l.gone++
	for n := len(l.ps); n > 0 && l.ps[n-1].forgotten; n = len(l.ps) {
		l.ps[n-1] = nil
		l.ps = l.ps[:n-1]
		l.gone--
	}
	if 2*l.gone > len(l.ps) {
		l.ps = slices.DeleteFunc(l.ps, func(q *payment) bool { return q.forgotten })
		l.gone = 0
	}
	if len(l.ps) == 0 {
		delete(x, p.Sub)
	}
}

// latest returns the most recently created payment with the sub, or nil.
func (x subIndex) latest(sub string) *payment {
	if l := x[sub]; l != nil && len(l.ps) > 0 {
		return l.ps[len(l.ps)-1]
	}
	return nil
}
