package state

import "time"

// SchemaVersion is the version of the stored order record. Version 2
// derives the status from the payment's amounts (see DeriveStatus).
const SchemaVersion = 2

// Status is the buyer-visible status of an order.
type Status string

// Order statuses.
const (
	// StatusNew: stored, the payment not yet (known to be) created at
	// Vipps. Orders are stored as pending since version 2 of the write
	// path; only orders stored by earlier versions are new.
	StatusNew Status = "new"
	// StatusPending: the payment waits for the buyer. An order is stored
	// as pending just before its create call is sent: until Vipps has
	// confirmed the payment (Payment.State is then CREATED; see
	// PaymentKnown), it may also be a payment whose create is in flight,
	// or one that Vipps never got, which the poller marks failed once the
	// create's grace period is over.
	StatusPending Status = "pending"
	// StatusFailed: the payment could not be created.
	StatusFailed Status = "failed"
	// StatusAuthorized: the amount is reserved.
	StatusAuthorized Status = "authorized"
	// StatusPartiallyCaptured: part of the reservation is captured.
	StatusPartiallyCaptured Status = "partially_captured"
	// StatusCaptured: everything reserved is captured (or the rest released).
	StatusCaptured Status = "captured"
	// StatusCancelled: the reservation was released with nothing captured,
	// or the merchant cancelled before the buyer approved.
	StatusCancelled Status = "cancelled"
	// StatusPartiallyRefunded: part of the captured money was refunded.
	StatusPartiallyRefunded Status = "partially_refunded"
	// StatusRefunded: all captured money was refunded.
	StatusRefunded Status = "refunded"
	// StatusAborted: the buyer rejected the payment.
	StatusAborted Status = "aborted"
	// StatusExpired: the buyer did not act in time.
	StatusExpired Status = "expired"
)

// AllStatuses lists every status.
var AllStatuses = []Status{
	StatusNew, StatusPending, StatusFailed, StatusAuthorized, StatusPartiallyCaptured, StatusCaptured,
	StatusCancelled, StatusPartiallyRefunded, StatusRefunded, StatusAborted, StatusExpired,
}

// Pending reports whether the outcome of the payment is still open: the
// order is new or waits for the buyer.
func (s Status) Pending() bool { return s == StatusNew || s == StatusPending }

// PaymentKnown reports whether Vipps has confirmed the order's payment:
// its answer to the create call was recorded, or a look at Vipps found it.
// A pending order whose payment is not known may have its create in flight.
func (o *Order) PaymentKnown() bool { return o.Payment.State != "" }

// Final reports whether the payment's outcome is decided (it may still be
// captured or refunded).
func (s Status) Final() bool { return !s.Pending() }

// Watched reports whether the poller keeps checking the order at Vipps:
// while the payment's outcome is open, and while money stays reserved, so
// that a capture or release made outside the shop (in the business portal)
// is seen even when its webhook is lost.
func (o *Order) Watched() bool {
	return !o.Payment.Missing && (o.Status.Pending() || o.Payment.Reserved() > 0)
}

// Source names who caused a change.
type Source string

// Sources of changes.
const (
	SourceCheckout Source = "checkout"
	SourceReturn   Source = "return"
	SourceWebhook  Source = "webhook"
	SourcePoller   Source = "poller"
	SourceMerchant Source = "merchant"
	SourceWorker   Source = "worker"
)

// Item is one priced line of an order.
type Item struct {
	SKU  string `json:"sku"`
	Name string `json:"name"`
	Qty  int    `json:"qty"`
	// UnitPrice in minor units, VAT included.
	UnitPrice int64 `json:"unit_price"`
	// VATRate in basis points: 2500 = 25 %.
	VATRate int `json:"vat_rate"`
}

// Payment is the last known view of the payment at Vipps. Amounts only grow.
type Payment struct {
	// State is the Vipps state (CREATED, AUTHORIZED, ABORTED, EXPIRED,
	// TERMINATED), empty before the payment was created.
	State           string    `json:"state,omitempty"`
	Authorized      int64     `json:"authorized"`
	Captured        int64     `json:"captured"`
	Cancelled       int64     `json:"cancelled"`
	Refunded        int64     `json:"refunded"`
	PSPReference    string    `json:"psp_reference,omitempty"`
	AuthorizedAt    time.Time `json:"authorized_at,omitzero"`
	CaptureDeadline time.Time `json:"capture_deadline,omitzero"`
	// Missing is set when Vipps answered that it does not know a payment
	// it had created (a simulator that lost its memory, say): a payment
	// still waiting for the buyer then counts as failed, and the order is
	// no longer watched. Vipps reporting the payment again clears it.
	Missing bool `json:"missing,omitempty"`
}

// Operation is a merchant operation (capture, cancel, refund) with the
// Idempotency-Key it is sent with, stored before the call.
type Operation struct {
	ID             string `json:"id"`
	Kind           string `json:"kind"`
	Amount         int64  `json:"amount"`
	IdempotencyKey string `json:"idempotency_key"`
	// ClientKey is the Idempotency-Key the merchant's own system sent with
	// the request that started the operation, if any: a retry with it finds
	// this operation instead of starting another.
	ClientKey string `json:"client_key,omitempty"`
	// ClientFingerprint identifies the request that ClientKey came with
	// (its kind, order and body): the same key with another request is
	// refused for as long as the order is kept, not only while the key's
	// stored answer lasts.
	ClientFingerprint string `json:"client_fingerprint,omitempty"`
	// Replayed is set, never stored, on the operation returned to a
	// caller whose Idempotency-Key found it already recorded: the request
	// is a retry, and its answer a replay.
	Replayed bool `json:"-"`
	// ReleaseRest asks for whatever stays reserved to be released once this
	// capture is done (a final shipment).
	ReleaseRest bool `json:"release_rest,omitempty"`
	// Follows names the operation whose outcome started this one (the
	// release after a final shipment).
	Follows   string `json:"follows,omitempty"`
	Status    string `json:"status"`
	ErrorCode string `json:"error_code,omitempty"`
	TraceID   string `json:"trace_id,omitempty"`
	Error     string `json:"error,omitempty"`
	Note      string `json:"note,omitempty"`
	// TrackingURL is shown with the payment in the Vipps app once this
	// capture is done (a shipment's tracking link).
	TrackingURL string `json:"tracking_url,omitempty"`
	// Lines are the shipped quantities per SKU of a capture, when the
	// merchant shipped by line.
	Lines     map[string]int `json:"lines,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
	DoneAt    time.Time      `json:"done_at,omitzero"`
	Actor     string         `json:"actor,omitempty"`
}

// HistoryEntry records a change of status (From → To) or a noted event
// (From == To), with who caused it.
type HistoryEntry struct {
	At     time.Time `json:"at"`
	Source Source    `json:"source"`
	From   Status    `json:"from,omitempty"`
	To     Status    `json:"to"`
	Note   string    `json:"note,omitempty"`
}

// Order is the stored order record. Buyer details live apart (see Buyer).
type Order struct {
	Schema      int         `json:"schema"`
	Reference   string      `json:"reference"`
	Items       []Item      `json:"items"`
	Currency    string      `json:"currency"`
	Amount      int64       `json:"amount"`
	Description string      `json:"description,omitempty"`
	Status      Status      `json:"status"`
	Payment     Payment     `json:"payment"`
	CreateKey   string      `json:"create_key"`
	RedirectURL string      `json:"redirect_url,omitempty"`
	Ops         []Operation `json:"ops,omitempty"`
	Receipt     string      `json:"receipt,omitempty"`
	// Scope is the profile the buyer was asked to share (Vipps profile
	// scope, e.g. "name email"); the shared details live in Buyer.
	Scope string `json:"scope,omitempty"`
	// BuyerDetails tells whether the shared details were fetched:
	// "queued", "stored" or "unavailable".
	BuyerDetails string `json:"buyer_details,omitempty"`
	// Express is set when the payment offered shipping options, so the
	// buyer picks delivery in the app (Vipps Express).
	Express bool `json:"express,omitempty"`
	// Shipping is the option chosen; its price is part of Amount.
	Shipping *Shipping `json:"shipping,omitempty"`
	// Link is the ID of the payment link the order was made from.
	Link string `json:"link,omitempty"`
	// LinkAttempt names the press of Pay on the link's page that made the
	// order, so that a second press of the same button (a double click)
	// finds this order instead of being refused.
	LinkAttempt string `json:"link_attempt,omitempty"`
	// Again lists, on an order that was not paid, the ways its goods were
	// offered to the buyer again (payment links, sales at the counter),
	// oldest first: another is made only when every earlier one is closed
	// and none was paid, so the same goods are never paid twice.
	Again []AgainRoute `json:"again,omitempty"`
	// AgainFor names the unpaid order whose goods this order charges
	// again (made from a link for it, or sold at the counter for it).
	AgainFor string `json:"again_for,omitempty"`
	// Language is the language of the pages the buyer ordered from (en,
	// nb, da, sv, fi): the order's lines and payment description name the
	// products as it does, and so does the receipt. Empty on orders made
	// before the language was kept, and where the shop's default applies.
	Language string `json:"language,omitempty"`
	// Flow is how the buyer was asked to pay: Vipps' userFlow QR or
	// PUSH_MESSAGE; empty for the usual redirect to Vipps.
	Flow string `json:"flow,omitempty"`
	// CaptureOnPayment charges the order as soon as it is authorized (a
	// service, nothing to ship).
	CaptureOnPayment bool              `json:"capture_on_payment,omitempty"`
	CreatedAt        time.Time         `json:"created_at"`
	UpdatedAt        time.Time         `json:"updated_at"`
	NextCheckAt      time.Time         `json:"next_check_at,omitzero"`
	Checks           int               `json:"checks,omitempty"`
	History          []HistoryEntry    `json:"history,omitempty"`
	Meta             map[string]string `json:"meta,omitempty"`
}

// AgainRoute is one way an unpaid order's goods were offered again.
type AgainRoute struct {
	// Kind is "link" (a payment link; ID is the link's) or "order" (a
	// sale at the counter; ID is its order's reference).
	Kind string `json:"kind"`
	ID   string `json:"id"`
	// At is when it was recorded, just before the link or order itself
	// was written.
	At time.Time `json:"at"`
}

// Shipping is the delivery the buyer chose in the Vipps or MobilePay app.
type Shipping struct {
	OptionID string `json:"option_id"`
	Name     string `json:"name"`
	// Amount in minor units, VAT included.
	Amount int64 `json:"amount"`
	// VATRate in basis points: 2500 = 25 %.
	VATRate int `json:"vat_rate"`
}

// Buyer holds personal details, stored apart from the order so they can
// expire while the accounting fields stay.
type Buyer struct {
	// Sub is the buyer's pseudonymous id at Vipps for this sales unit.
	Sub      string   `json:"sub,omitempty"`
	Name     string   `json:"name,omitempty"`
	Email    string   `json:"email,omitempty"`
	Phone    string   `json:"phone,omitempty"`
	Address  []string `json:"address,omitempty"`
	PostCode string   `json:"post_code,omitempty"`
	City     string   `json:"city,omitempty"`
	Country  string   `json:"country,omitempty"`
}
