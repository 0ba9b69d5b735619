package state

import (
	"errors"
	"time"
)

// Link is a payment link: a page under the shop's base path, at an
// address with an unguessable token, where whoever has the address pays
// what the link says. Its orders are ordinary orders that name it
// (Order.Link).
type Link struct {
	// ID names the link to the merchant (API paths, logs, the orders made
	// from it). It is not secret.
	ID string `json:"id"`
	// Token is the secret part of the link's address. Stores find a link
	// by the hash of its token (Hash), never by the token itself.
	Token string `json:"token"`
	// Description says what is paid, on the link's page and in the app.
	Description string `json:"description"`
	// Items are the priced lines the link sells: catalog lines priced when
	// the link was made, or one line of a free amount.
	Items []Item `json:"items"`
	// Currency and Amount (minor units, VAT included) are what one
	// payment through the link costs: the sum of Items.
	Currency string `json:"currency"`
	Amount   int64  `json:"amount"`
	// Reusable links take any number of orders; a single-use link takes
	// one paid order (see Holder).
	Reusable bool `json:"reusable,omitempty"`
	// CaptureOnPayment charges an order as soon as it is authorized (a
	// service, nothing to ship); otherwise the merchant's ship does.
	CaptureOnPayment bool      `json:"capture_on_payment,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
	ExpiresAt        time.Time `json:"expires_at"`
	// DisabledAt is set once the merchant disabled the link.
	DisabledAt time.Time `json:"disabled_at,omitzero"`
	// Holder is the latest order of a single-use link: while it waits for
	// the buyer, or once it is paid, the link takes no other order.
	Holder string `json:"holder,omitempty"`
	// Orders counts the orders made from the link.
	Orders int `json:"orders"`
	// ForOrder is the order whose buyer the link lets pay again (its
	// payment failed, was rejected or expired); empty for other links.
	ForOrder string `json:"for_order,omitempty"`
	// ClientFingerprint identifies the request whose Idempotency-Key made
	// the link (and named it): the same request finds it again.
	ClientFingerprint string `json:"client_fingerprint,omitempty"`
}

// ErrInvalidFilter: a list filter that combines what the engines cannot
// combine (a link and statuses).
var ErrInvalidFilter = errors.New("filter orders by link or by status, not both")

// LinkCursorOf is the cursor that continues a list of links after l:
// links sort newest first, then by ID, like orders.
func LinkCursorOf(l *Link) string { return invTsKey(l.CreatedAt) + "/" + l.ID }

// LinkCreatedNS is a link's creation time as cursors and indexes keep it.
func LinkCreatedNS(l *Link) int64 { return unixNano(l.CreatedAt) }
