package state

import (
	"bytes"
	"sync"
)

// orderCache keeps the decoded form of recently read or written orders,
// keyed by reference and checked against the stored bytes: an order whose
// stored bytes are what the cache holds needs no JSON decoding (the
// largest cost of a read or a transition). A stale entry only costs a
// decode. It holds orderCacheSize orders, the oldest going first; the
// orders of a shop's buyers in flight fit easily.
type orderCache struct {
	mu   sync.Mutex
	m    map[string]cachedOrder
	ring [orderCacheSize]string
	next int
}

const orderCacheSize = 512

type cachedOrder struct {
	raw   []byte
	order *Order // never changed; callers get clones
}

// get returns a copy of the order stored as raw, if the cache holds it.
func (c *orderCache) get(ref string, raw []byte) (*Order, bool) {
	c.mu.Lock()
	e, ok := c.m[ref]
	c.mu.Unlock()
	if !ok || !bytes.Equal(e.raw, raw) {
		return nil, false
	}
	return e.order.Clone(), true
}

// put remembers that raw decodes to o. raw and o must not change after.
func (c *orderCache) put(ref string, raw []byte, o *Order) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]cachedOrder, orderCacheSize)
	}
	if _, ok := c.m[ref]; !ok {
		if old := c.ring[c.next]; old != "" {
			delete(c.m, old)
		}
		c.ring[c.next] = ref
		c.next = (c.next + 1) % orderCacheSize
	}
	c.m[ref] = cachedOrder{raw: raw, order: o}
}
