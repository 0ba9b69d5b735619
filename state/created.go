package state

import "time"

// CreateAnswer is what Vipps answered to an order's create call: the
// payment exists (CREATED), and where the buyer is sent to approve it.
type CreateAnswer struct {
	// RedirectURL is Vipps' address for the buyer (the landing page, the
	// app, or the QR code's image); empty for a push to the buyer's phone.
	RedirectURL string `json:"redirect_url,omitempty"`
	// At is when the answer came.
	At time.Time `json:"at"`
}

// CreatedNote is the history note of a recorded create answer.
const CreatedNote = "payment created at vipps"

// ApplyCreated merges Vipps' answer to the create call into the order: the
// payment is CREATED and the buyer's address at Vipps is kept. An answer
// that comes after the payment went on (authorized, aborted, expired,
// terminated) changes nothing. It reports whether anything changed.
func (o *Order) ApplyCreated(a CreateAnswer) (bool, error) {
	if vippsFinal(o.Payment.State) {
		return false, nil // a late answer: the payment went on
	}
	changed := false
	if a.RedirectURL != "" && a.RedirectURL != o.RedirectURL {
		o.RedirectURL = a.RedirectURL
		changed = true
	}
	c, err := o.ApplyPayment(Observation{State: vippsCreated, At: a.At})
	if err != nil {
		return false, err
	}
	return changed || c, nil
}

// Record is the transition that records the answer in its order (for
// Store.Update): ErrNoChange when it tells nothing new.
func (a CreateAnswer) Record(o *Order, tx *Tx) error {
	changed, err := o.ApplyCreated(a)
	if err != nil {
		return err
	}
	if !changed {
		return ErrNoChange
	}
	tx.Note("%s", CreatedNote)
	return nil
}

// applyCreatedRecord merges an answer kept apart from the order (see
// BadgerStore.RecordCreated) into an order as read, as the transition
// that records it would: the history entry and the time of the change
// included. It reports whether anything changed.
func (o *Order) applyCreatedRecord(a CreateAnswer, historyLimit int) bool {
	from := o.Status
	changed, err := o.ApplyCreated(a)
	if err != nil || !changed {
		return false
	}
	o.History = appendHistory(o.History, HistoryEntry{At: a.At, Source: SourceCheckout, From: from, To: o.Status, Note: CreatedNote}, historyLimit)
	if a.At.After(o.UpdatedAt) {
		o.UpdatedAt = a.At
	}
	return true
}
