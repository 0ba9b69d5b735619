package shop

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// JobNotify tells the merchant's own system about an order event.
const JobNotify = "notify"

// Notification headers. The signature is hex(HMAC-SHA256(secret,
// timestamp + "." + body)) over the raw body; receivers should reject
// timestamps more than five minutes old.
const (
	HeaderNotifyTimestamp = "X-Vipps-Shop-Timestamp"
	HeaderNotifySignature = "X-Vipps-Shop-Signature"
)

// Notification is the JSON body posted to notify_url: one event, a change
// of the order's status or of its money, with the figures as they were
// when it happened (a delivery retried later still tells that moment).
type Notification struct {
	// ID names the event (the outbox job that delivers it); a delivery
	// that is repeated carries the same ID, so a receiver handles each ID
	// once.
	ID        string `json:"id"`
	Event     string `json:"event"`
	Reference string `json:"reference"`
	Status    string `json:"status"`
	Currency  string `json:"currency"`
	// Amount is what the order costs; Authorized, Captured, Cancelled
	// (released) and Refunded are the money moved so far, in minor units.
	Amount     int64        `json:"amount"`
	Authorized int64        `json:"authorized"`
	Captured   int64        `json:"captured"`
	Cancelled  int64        `json:"cancelled"`
	Refunded   int64        `json:"refunded"`
	Items      []state.Item `json:"items"`
	// Shipping is the delivery chosen in the app; its price is part of
	// Amount.
	Shipping *state.Shipping `json:"shipping,omitempty"`
	// Buyer is what the buyer shared (name, email, phone, address), while
	// it is kept.
	Buyer      *state.Buyer `json:"buyer,omitempty"`
	CreatedAt  time.Time    `json:"created_at"`
	OccurredAt time.Time    `json:"occurred_at"`
}

// notifyPayload is an event as the outbox keeps it until delivered: what
// the order showed when it happened.
type notifyPayload struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
	// Money is the order's amounts at the event; nil in events queued by
	// an older version, which are told with the amounts of today.
	Money *notifyMoney `json:"money,omitempty"`
}

type notifyMoney struct {
	Authorized int64 `json:"authorized"`
	Captured   int64 `json:"captured"`
	Cancelled  int64 `json:"cancelled"`
	Refunded   int64 `json:"refunded"`
}

func moneyOf(p state.Payment) notifyMoney {
	return notifyMoney{Authorized: p.Authorized, Captured: p.Captured, Cancelled: p.Cancelled, Refunded: p.Refunded}
}

// errNotConfirmed: an order.pending event waits for Vipps to confirm the
// payment.
var errNotConfirmed = errors.New("the payment is not confirmed by vipps yet")

// notifyEvent is the event to queue for a change from before to after, if
// the merchant is told of it: a new status, or money that moved.
func (s *Service) notifyEvent(ref string, before, after *state.Order) (state.Job, bool) {
	m := moneyOf(after.Payment)
	if after.Status == before.Status && m == moneyOf(before.Payment) {
		return state.Job{}, false
	}
	payload, _ := json.Marshal(notifyPayload{Status: string(after.Status), At: s.now().UTC(), Money: &m})
	return state.Job{Kind: JobNotify, Ref: ref, Payload: payload, NotBefore: s.now().UTC()}, true
}

// SignNotification computes the signature header value for a body.
func SignNotification(secret string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifyNotification checks a notification as a receiver should: the
// signature in constant time, and the timestamp within maxAge of now.
func VerifyNotification(secret string, r *http.Request, body []byte, maxAge time.Duration, now time.Time) error {
	ts, err := strconv.ParseInt(r.Header.Get(HeaderNotifyTimestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("notification: bad timestamp")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > maxAge || d < -maxAge {
		return fmt.Errorf("notification: timestamp too far from now")
	}
	want := SignNotification(secret, ts, body)
	if !hmac.Equal([]byte(want), []byte(r.Header.Get(HeaderNotifySignature))) {
		return fmt.Errorf("notification: bad signature")
	}
	return nil
}

// notify posts one notification to the merchant.
func (s *Service) notify(ctx context.Context, j state.Job) error {
	if s.cfg.NotifyURL == "" {
		return nil
	}
	o, err := s.Order(j.Ref)
	if err != nil {
		return err
	}
	var p notifyPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return &RejectedError{Op: "notify", Err: err}
	}
	if p.Status == string(state.StatusPending) && !o.PaymentKnown() {
		// Stored with the order before its create was sent: the payment
		// waits for the buyer only once Vipps has confirmed it (its
		// answer, or the poller's first look, seconds later). An order
		// whose payment Vipps never got is failed instead, and told as
		// such: its pending was never true.
		if o.Status.Pending() {
			return &UnavailableError{Op: "notify", Err: errNotConfirmed}
		}
		return nil
	}
	m := moneyOf(o.Payment)
	if p.Money != nil {
		m = *p.Money
	}
	body, err := json.Marshal(Notification{
		ID: j.ID, Event: "order." + p.Status, Reference: o.Reference, Status: p.Status, Currency: o.Currency, Amount: o.Amount,
		Authorized: m.Authorized, Captured: m.Captured, Cancelled: m.Cancelled, Refunded: m.Refunded,
		Items: o.Items, Shipping: o.Shipping, Buyer: s.BuyerOf(o.Reference),
		CreatedAt: o.CreatedAt, OccurredAt: p.At,
	})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.NotifyURL, bytes.NewReader(body))
	if err != nil {
		return &RejectedError{Op: "notify", Err: err}
	}
	ts := s.now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderNotifyTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderNotifySignature, SignNotification(s.cfg.NotifySecret, ts, body))
	req.Header.Set("User-Agent", "caddy-vipps")
	resp, err := s.notifyClient.Do(req)
	if err != nil {
		return &UnavailableError{Op: "notify", Err: err}
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &UnavailableError{Op: "notify", Err: fmt.Errorf("the merchant's endpoint answered %d", resp.StatusCode)}
	}
	return nil
}
