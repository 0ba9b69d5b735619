package state

import (
	"errors"
	"time"
)

// PrepareNew fills in what a new order gets before it is stored: the schema
// version, status new, its times and the first history entry.
func PrepareNew(o *Order, now time.Time) error {
	if o.Reference == "" {
		return errors.New("order has no reference")
	}
	if o.Schema == 0 {
		o.Schema = SchemaVersion
	}
	if o.Status == "" {
		o.Status = StatusNew
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = now.UTC()
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = o.CreatedAt
	}
	if len(o.History) == 0 {
		o.History = []HistoryEntry{{At: o.CreatedAt, Source: SourceCheckout, To: o.Status, Note: "order created"}}
	}
	return nil
}
