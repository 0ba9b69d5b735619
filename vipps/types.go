package vipps

import "time"

// Amount is a sum of money in minor units (øre for NOK, DKK and SEK; cents for
// EUR). 49900 NOK is 499.00 kroner. Vipps rejects decimals, so the value is an
// integer.
type Amount struct {
	Currency string `json:"currency"`
	Value    int64  `json:"value"`
}

// Currencies Vipps MobilePay accepts for ePayment.
const (
	NOK = "NOK"
	DKK = "DKK"
	EUR = "EUR"
	SEK = "SEK"
)

// PaymentState is the state of an ePayment. There is no CAPTURED or REFUNDED
// state: what has happened to the money is read from the Aggregate.
type PaymentState string

// The ePayment states.
const (
	StateCreated    PaymentState = "CREATED"
	StateAuthorized PaymentState = "AUTHORIZED"
	StateAborted    PaymentState = "ABORTED"
	StateExpired    PaymentState = "EXPIRED"
	StateTerminated PaymentState = "TERMINATED"
)

// Final reports whether no further state change can happen. AUTHORIZED is
// final as a state; captures, cancels and refunds only change the aggregate.
func (s PaymentState) Final() bool {
	switch s {
	case StateAuthorized, StateAborted, StateExpired, StateTerminated:
		return true
	}
	return false
}

// Valid reports whether s is one of the documented states.
func (s PaymentState) Valid() bool {
	return s == StateCreated || s.Final()
}

// EventName names an entry in a payment's event log and a webhook delivery.
type EventName string

// The ePayment event names.
const (
	EventCreated    EventName = "CREATED"
	EventAuthorized EventName = "AUTHORIZED"
	EventAborted    EventName = "ABORTED"
	EventExpired    EventName = "EXPIRED"
	EventCancelled  EventName = "CANCELLED"
	EventCaptured   EventName = "CAPTURED"
	EventRefunded   EventName = "REFUNDED"
	EventTerminated EventName = "TERMINATED"
)

// WebhookEventType returns the Webhooks API event type for an event name,
// e.g. "epayments.payment.authorized.v1".
func (e EventName) WebhookEventType() string {
	return "epayments.payment." + lower(string(e)) + ".v1"
}

// AllPaymentEventTypes lists every ePayment webhook event type.
var AllPaymentEventTypes = []string{
	EventCreated.WebhookEventType(),
	EventAuthorized.WebhookEventType(),
	EventAborted.WebhookEventType(),
	EventExpired.WebhookEventType(),
	EventCancelled.WebhookEventType(),
	EventCaptured.WebhookEventType(),
	EventRefunded.WebhookEventType(),
	EventTerminated.WebhookEventType(),
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// User flows for CreatePaymentRequest.UserFlow.
const (
	UserFlowWebRedirect    = "WEB_REDIRECT"
	UserFlowNativeRedirect = "NATIVE_REDIRECT"
	UserFlowPushMessage    = "PUSH_MESSAGE"
	UserFlowQR             = "QR"
)

// Values of CreatePaymentRequest.CustomerInteraction.
const (
	CustomerPresent    = "CUSTOMER_PRESENT"
	CustomerNotPresent = "CUSTOMER_NOT_PRESENT"
)

// QR formats for QRFormat.Format.
const (
	QRFormatTargetURL = "TEXT/TARGETURL"
	QRFormatSVG       = "IMAGE/SVG+XML"
	QRFormatPNG       = "IMAGE/PNG"
)

// QRFormat says how a QR payment's redirectUrl comes: a link to an image
// of the QR code (SVG, the default, or PNG of Size pixels, 100-2000), or
// the address the code holds (TEXT/TARGETURL), to draw it yourself.
type QRFormat struct {
	Format string `json:"format"`
	Size   *int   `json:"size,omitempty"`
}

// Payment method types.
const (
	PaymentMethodWallet = "WALLET"
	PaymentMethodCard   = "CARD"
)

// PaymentMethod selects how the customer pays.
type PaymentMethod struct {
	Type    string `json:"type"`
	CardBin string `json:"cardBin,omitempty"`
}

// Customer identifies the payer. At most one field may be set. PhoneNumber is
// an MSISDN: country code and number, digits only (4712345678).
type Customer struct {
	PhoneNumber   string `json:"phoneNumber,omitempty"`
	PersonalQr    string `json:"personalQr,omitempty"`
	CustomerToken string `json:"customerToken,omitempty"`
}

// ProfileRequest asks the payer to share profile data; Scope is a
// space-separated list such as "name email phoneNumber address".
type ProfileRequest struct {
	Scope string `json:"scope"`
}

// ProfileResponse carries the payer's sub once a payment with a scope is
// authorized.
type ProfileResponse struct {
	Sub string `json:"sub,omitempty"`
}

// CreatePaymentRequest is the body of POST /epayment/v1/payments.
type CreatePaymentRequest struct {
	Amount              Amount            `json:"amount"`
	PaymentMethod       PaymentMethod     `json:"paymentMethod"`
	Reference           string            `json:"reference"`
	UserFlow            string            `json:"userFlow"`
	ReturnURL           string            `json:"returnUrl,omitempty"`
	Customer            *Customer         `json:"customer,omitempty"`
	PaymentDescription  string            `json:"paymentDescription,omitempty"`
	CustomerInteraction string            `json:"customerInteraction,omitempty"`
	Profile             *ProfileRequest   `json:"profile,omitempty"`
	Receipt             *Receipt          `json:"receipt,omitempty"`
	ReceiptURL          string            `json:"receiptUrl,omitempty"`
	Metadata            map[string]string `json:"metadata,omitempty"`
	ExpiresAt           *time.Time        `json:"expiresAt,omitempty"`
	MinimumUserAge      *int              `json:"minimumUserAge,omitempty"`
	Shipping            *Shipping         `json:"shipping,omitempty"`
	// QRFormat is only for UserFlow QR.
	QRFormat *QRFormat `json:"qrFormat,omitempty"`
}

// CreatePaymentResponse is the answer to a create call. RedirectURL is empty
// for PUSH_MESSAGE payments, and for QR payments it is the QR code (see
// QRFormat).
type CreatePaymentResponse struct {
	RedirectURL string `json:"redirectUrl,omitempty"`
	Reference   string `json:"reference"`
}

// Aggregate is what has happened to the money of a payment. All four amounts
// are always present.
type Aggregate struct {
	AuthorizedAmount Amount `json:"authorizedAmount"`
	CancelledAmount  Amount `json:"cancelledAmount"`
	CapturedAmount   Amount `json:"capturedAmount"`
	RefundedAmount   Amount `json:"refundedAmount"`
}

// Payment is the answer of GET /epayment/v1/payments/{reference}.
type Payment struct {
	Aggregate              Aggregate         `json:"aggregate"`
	Amount                 Amount            `json:"amount"`
	State                  PaymentState      `json:"state"`
	PaymentMethod          PaymentMethod     `json:"paymentMethod"`
	Profile                ProfileResponse   `json:"profile"`
	PSPReference           string            `json:"pspReference"`
	Reference              string            `json:"reference"`
	RedirectURL            string            `json:"redirectUrl,omitempty"`
	Metadata               map[string]string `json:"metadata,omitempty"`
	UserDetails            *UserDetails      `json:"userDetails,omitempty"`
	ShippingDetails        *ShippingDetails  `json:"shippingDetails,omitempty"`
	CaptureGuaranteedUntil *time.Time        `json:"captureGuaranteedUntil,omitempty"`
}

// PaymentEvent is one entry of a payment's event log.
type PaymentEvent struct {
	Reference      string    `json:"reference"`
	PSPReference   string    `json:"pspReference"`
	Name           EventName `json:"name"`
	Amount         Amount    `json:"amount"`
	Timestamp      time.Time `json:"timestamp"`
	IdempotencyKey string    `json:"idempotencyKey,omitempty"`
	Success        bool      `json:"success"`
}

// ModificationRequest is the body of capture and refund.
type ModificationRequest struct {
	ModificationAmount Amount `json:"modificationAmount"`
}

// CancelRequest is the optional body of cancel. With CancelTransactionOnly
// set, an already authorized payment is left alone (error 6060) instead of
// having its reservation released.
type CancelRequest struct {
	CancelTransactionOnly bool `json:"cancelTransactionOnly"`
}

// ModificationResponse is the answer to capture, cancel and refund. Amount is
// the payment's original amount, not the modification.
type ModificationResponse struct {
	Amount       Amount       `json:"amount"`
	State        PaymentState `json:"state"`
	Aggregate    Aggregate    `json:"aggregate"`
	PSPReference string       `json:"pspReference"`
	Reference    string       `json:"reference"`
}

// ForceApproveRequest is the body of the test-only force approve call: either
// a customer or the token from the redirect URL.
type ForceApproveRequest struct {
	Customer *Customer `json:"customer,omitempty"`
	Token    string    `json:"token,omitempty"`
}

// UserDetails is the profile data shared by the payer (profile sharing).
type UserDetails struct {
	FirstName    string    `json:"firstName,omitempty"`
	LastName     string    `json:"lastName,omitempty"`
	Email        string    `json:"email,omitempty"`
	MobileNumber string    `json:"mobileNumber,omitempty"`
	Addresses    []Address `json:"addresses,omitempty"`
}

// Address is a postal address as ePayment returns it.
type Address struct {
	AddressLine1 string `json:"addressLine1,omitempty"`
	AddressLine2 string `json:"addressLine2,omitempty"`
	City         string `json:"city,omitempty"`
	PostCode     string `json:"postCode,omitempty"`
	Country      string `json:"country,omitempty"`
}

// Shipping carries Express shipping options on create: exactly one of
// FixedOptions and DynamicOptions. With shipping, the payment method must be
// WALLET and the profile scope exactly "name address email phoneNumber";
// the create amount excludes shipping and the buyer authorizes goods plus
// the chosen option.
type Shipping struct {
	FixedOptions   []ShippingGroup `json:"fixedOptions,omitempty"`
	DynamicOptions *DynamicOptions `json:"dynamicOptions,omitempty"`
}

// DynamicOptions asks Vipps to fetch shipping options for the buyer's
// address from the merchant's CallbackURL, sending CallbackAuthorizationToken
// in the Authorization header.
type DynamicOptions struct {
	CallbackURL                string `json:"callbackUrl"`
	CallbackAuthorizationToken string `json:"callbackAuthorizationToken"`
}

// Shipping group brands and types.
const (
	ShippingBrandOther  = "OTHER"
	ShippingTypeOther   = "OTHER"
	ShippingTypeHome    = "HOME_DELIVERY"
	ShippingTypePickup  = "PICKUP_POINT"
	ShippingTypeMailbox = "MAILBOX"
	ShippingTypeInStore = "IN_STORE"
	ExpressScope        = "name address email phoneNumber"
)

// ShippingBrands lists the carrier brands Vipps shows logos for.
var ShippingBrands = []string{"BRING", "DHL", "FEDEX", "GLS", "HELTHJEM", "INSTABOX", "MATKAHUOLTO",
	"PORTERBUDDY", "POSTEN", "POSTI", "POSTNORD", ShippingBrandOther}

// ShippingTypes lists the kinds of delivery a shipping group can be.
var ShippingTypes = []string{ShippingTypeHome, ShippingTypePickup, ShippingTypeMailbox, ShippingTypeInStore, ShippingTypeOther}

// ShippingGroup is a group of shipping options (one carrier and type).
type ShippingGroup struct {
	Brand     string           `json:"brand"`
	Type      string           `json:"type"`
	IsDefault bool             `json:"isDefault"`
	Priority  int              `json:"priority"`
	Options   []ShippingOption `json:"options"`
}

// ShippingOption is one choice within a shipping group.
type ShippingOption struct {
	ID                string `json:"id"`
	Amount            Amount `json:"amount"`
	Name              string `json:"name"`
	Meta              string `json:"meta,omitempty"`
	EstimatedDelivery string `json:"estimatedDelivery,omitempty"`
	IsDefault         bool   `json:"isDefault,omitempty"`
	Priority          int    `json:"priority,omitempty"`
}

// ShippingDetails is what the payer chose in an Express payment.
type ShippingDetails struct {
	Address            *Address `json:"address,omitempty"`
	ShippingCost       *Amount  `json:"shippingCost,omitempty"`
	ShippingOptionID   string   `json:"shippingOptionId,omitempty"`
	ShippingOptionName string   `json:"shippingOptionName,omitempty"`
}

// Receipt is a list of order lines and a bottom line, shown in the Vipps or
// MobilePay app (Order Management API, or inside a create call).
type Receipt struct {
	OrderLines []OrderLine `json:"orderLines"`
	BottomLine BottomLine  `json:"bottomLine"`
}

// OrderLine is one line of a receipt. Amounts are minor units; TaxRate is a
// percentage with two decimals (2500 = 25 %).
type OrderLine struct {
	Name                    string    `json:"name"`
	ID                      string    `json:"id"`
	TotalAmount             int64     `json:"totalAmount"`
	TotalAmountExcludingTax int64     `json:"totalAmountExcludingTax"`
	TotalTaxAmount          int64     `json:"totalTaxAmount"`
	TaxRate                 *int      `json:"taxRate,omitempty"`
	TaxPercentage           *int      `json:"taxPercentage,omitempty"`
	UnitInfo                *UnitInfo `json:"unitInfo,omitempty"`
	Discount                *int64    `json:"discount,omitempty"`
	ProductURL              string    `json:"productUrl,omitempty"`
	IsReturn                bool      `json:"isReturn,omitempty"`
	IsShipping              bool      `json:"isShipping,omitempty"`
}

// UnitInfo describes quantity and unit price of an order line. Quantity is a
// display string such as "2" or "2.5".
type UnitInfo struct {
	UnitPrice    int64  `json:"unitPrice"`
	Quantity     string `json:"quantity"`
	QuantityUnit string `json:"quantityUnit,omitempty"`
}

// BottomLine closes a receipt. Totals are computed by Vipps from the lines.
type BottomLine struct {
	Currency      string `json:"currency"`
	TipAmount     *int64 `json:"tipAmount,omitempty"`
	PosID         string `json:"posId,omitempty"`
	ReceiptNumber string `json:"receiptNumber,omitempty"`
}

// Category links the payment in the app to a page of the merchant's, such as
// a tracking page (DELIVERY) or an order status page (ORDER_CONFIRMATION).
type Category struct {
	Category        string `json:"category"`
	OrderDetailsURL string `json:"orderDetailsUrl"`
	ImageID         string `json:"imageId,omitempty"`
}

// Order Management categories.
const (
	CategoryGeneral           = "GENERAL"
	CategoryReceipt           = "RECEIPT"
	CategoryOrderConfirmation = "ORDER_CONFIRMATION"
	CategoryDelivery          = "DELIVERY"
	CategoryTicket            = "TICKET"
	CategoryBooking           = "BOOKING"
)

// PaymentTypeEcom is the Order Management payment type for ePayment.
const PaymentTypeEcom = "ECOM"

// OrderWithCategoryAndReceipt is the answer of the Order Management get call.
type OrderWithCategoryAndReceipt struct {
	Category *Category `json:"category,omitempty"`
	Receipt  *Receipt  `json:"receipt,omitempty"`
}

// RegisterWebhookRequest is the body of POST /webhooks/v1/webhooks.
type RegisterWebhookRequest struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

// RegisterWebhookResponse carries the id and the signing secret of a new
// registration. The secret is returned only once.
type RegisterWebhookResponse struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
}

// Webhook is a registration as the list call returns it (without secret).
type Webhook struct {
	ID     string   `json:"id"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

// WebhookList is the answer of GET /webhooks/v1/webhooks.
type WebhookList struct {
	Webhooks []Webhook `json:"webhooks"`
}

// WebhookEvent is the JSON body of an ePayment webhook delivery. Treat it as
// a signal: for money decisions, read the payment with GetPayment.
type WebhookEvent struct {
	MSN                    string           `json:"msn"`
	Reference              string           `json:"reference"`
	PSPReference           string           `json:"pspReference"`
	Name                   EventName        `json:"name"`
	Amount                 Amount           `json:"amount"`
	Timestamp              time.Time        `json:"timestamp"`
	IdempotencyKey         string           `json:"idempotencyKey,omitempty"`
	Success                bool             `json:"success"`
	CaptureGuaranteedUntil *time.Time       `json:"captureGuaranteedUntil,omitempty"`
	UserDetails            *UserDetails     `json:"userDetails,omitempty"`
	Profile                *ProfileResponse `json:"profile,omitempty"`
}

// AccessToken is the answer of POST /accesstoken/get. Vipps sends the numeric
// fields as strings; the client accepts strings and numbers.
type AccessToken struct {
	TokenType   string `json:"token_type"`
	ExpiresIn   string `json:"expires_in"`
	ExtExpires  string `json:"ext_expires_in"`
	ExpiresOn   string `json:"expires_on"`
	NotBefore   string `json:"not_before"`
	Resource    string `json:"resource"`
	AccessToken string `json:"access_token"`
}
