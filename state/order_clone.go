package state

import (
	"maps"
	"slices"
)

// Clone returns a deep copy of the order: changing the copy's items,
// operations, history, shipping or meta leaves o as it was. Transition
// runs a change on a clone so the order as read stays for comparison.
func (o *Order) Clone() *Order {
	c := *o
	c.Items = slices.Clone(o.Items)
	if o.Ops != nil {
		c.Ops = make([]Operation, len(o.Ops))
		for i, op := range o.Ops {
			op.Lines = maps.Clone(op.Lines)
			c.Ops[i] = op
		}
	}
	c.History = slices.Clone(o.History)
	c.Again = slices.Clone(o.Again)
	if o.Shipping != nil {
		s := *o.Shipping
		c.Shipping = &s
	}
	c.Meta = maps.Clone(o.Meta)
	return &c
}
