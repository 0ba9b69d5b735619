package shop

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

// Notification is the JSON body posted to notify_url.
type Notification struct {
	Event     string       `json:"event"`
	Reference string       `json:"reference"`
	Status    string       `json:"status"`
	Currency  string       `json:"currency"`
	Amount    int64        `json:"amount"`
	Captured  int64        `json:"captured"`
	Refunded  int64        `json:"refunded"`
	Items     []state.Item `json:"items"`
	// Shipping is the delivery chosen in the app; its price is part of
	// Amount.
	Shipping *state.Shipping `json:"shipping,omitempty"`
	// Buyer is what the buyer shared (name, email, phone, address), while
	// it is kept.
	Buyer      *state.Buyer `json:"buyer,omitempty"`
	CreatedAt  time.Time    `json:"created_at"`
	OccurredAt time.Time    `json:"occurred_at"`
}

type notifyPayload struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
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
	body, err := json.Marshal(Notification{
		Event: "order." + p.Status, Reference: o.Reference, Status: p.Status, Currency: o.Currency, Amount: o.Amount,
		Captured: o.Payment.Captured, Refunded: o.Payment.Refunded, Items: o.Items, Shipping: o.Shipping, Buyer: s.BuyerOf(o.Reference),
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
