package vipps

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// DefaultWebhookMaxSkew is how far the x-ms-date of a delivery may be from
// now before VerifyWebhook rejects it as a replay.
const DefaultWebhookMaxSkew = 5 * time.Minute

// Reasons a webhook delivery fails verification. The errors returned by
// VerifyWebhook wrap exactly one of them; use errors.Is to tell them apart,
// e.g. to count failures by kind.
var (
	// ErrWebhookMethod: the request is not a POST.
	ErrWebhookMethod = errors.New("vipps: webhook: method is not POST")
	// ErrWebhookMissingHeaders: x-ms-date, x-ms-content-sha256, the
	// Authorization header (or X-Vipps-Authorization) or the Host is
	// missing.
	ErrWebhookMissingHeaders = errors.New("vipps: webhook: signature headers missing")
	// ErrWebhookContentHash: the body does not match x-ms-content-sha256.
	ErrWebhookContentHash = errors.New("vipps: webhook: content hash mismatch")
	// ErrWebhookBadDate: x-ms-date is not an RFC 1123 GMT date.
	ErrWebhookBadDate = errors.New("vipps: webhook: malformed x-ms-date")
	// ErrWebhookSignature: the Authorization value does not match the
	// HMAC-SHA256 signature computed with the secret.
	ErrWebhookSignature = errors.New("vipps: webhook: signature mismatch")
	// ErrWebhookStale: the signature is valid but x-ms-date is further than
	// the allowed skew from now (a replay, or a badly wrong clock).
	ErrWebhookStale = errors.New("vipps: webhook: date outside the allowed skew")
	// ErrWebhookNoSecret: the verifier has no secret configured.
	ErrWebhookNoSecret = errors.New("vipps: webhook: no secret configured")
)

// WebhookVerifier checks the signature of webhook deliveries. The zero
// MaxSkew and Now mean DefaultWebhookMaxSkew and time.Now.
type WebhookVerifier struct {
	// Secret is the signing secret returned by RegisterWebhook, used as
	// is (its UTF-8 bytes are the HMAC key).
	Secret string
	// MaxSkew is the largest allowed distance between x-ms-date and now,
	// in either direction. Zero means DefaultWebhookMaxSkew; a negative
	// value turns the date check off.
	MaxSkew time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// VerifyWebhook checks a webhook delivery signed with secret, allowing the
// default date skew of five minutes. body must be the raw request body,
// exactly as received. See WebhookVerifier.Verify.
func VerifyWebhook(secret string, r *http.Request, body []byte) error {
	return (&WebhookVerifier{Secret: secret}).Verify(r, body)
}

// Verify checks that r is an authentic, fresh Vipps webhook delivery:
//
//  1. the method is POST;
//  2. base64(SHA-256(body)) equals the x-ms-content-sha256 header;
//  3. x-ms-date is an RFC 1123 GMT date;
//  4. the Authorization header (or X-Vipps-Authorization when Authorization
//     is absent) equals
//     "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature="
//     followed by base64(HMAC-SHA256(secret, "POST\n" + path and query +
//     "\n" + x-ms-date + ";" + host + ";" + content hash)), compared in
//     constant time;
//  5. x-ms-date is within MaxSkew of now.
//
// The path and query are taken from r.URL.RequestURI() and the host from
// r.Host, so pass the request as it arrived, before any path rewriting.
// body must be the raw bytes, never re-encoded JSON. The returned error wraps
// one of the ErrWebhook* values.
func (v *WebhookVerifier) Verify(r *http.Request, body []byte) error {
	if v.Secret == "" {
		return ErrWebhookNoSecret
	}
	if r.Method != http.MethodPost {
		return ErrWebhookMethod
	}
	date := r.Header.Get(HeaderMSDate)
	hash := r.Header.Get(HeaderMSContentSHA256)
	auth := r.Header.Get("Authorization")
	if auth == "" {
		auth = r.Header.Get(HeaderVippsAuthorization)
	}
	var missing []string
	if date == "" {
		missing = append(missing, "x-ms-date")
	}
	if hash == "" {
		missing = append(missing, "x-ms-content-sha256")
	}
	if auth == "" {
		missing = append(missing, "authorization")
	}
	if r.Host == "" {
		missing = append(missing, "host")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", ErrWebhookMissingHeaders, strings.Join(missing, ", "))
	}

	if subtle.ConstantTimeCompare([]byte(ContentHash(body)), []byte(hash)) != 1 {
		return ErrWebhookContentHash
	}
	sent, err := time.Parse(http.TimeFormat, date)
	if err != nil {
		return ErrWebhookBadDate
	}
	want := WebhookAuthorization(WebhookSignature(v.Secret, http.MethodPost, r.URL.RequestURI(), date, r.Host, hash))
	if subtle.ConstantTimeCompare([]byte(want), []byte(auth)) != 1 {
		return ErrWebhookSignature
	}
	if v.MaxSkew >= 0 {
		maxSkew := v.MaxSkew
		if maxSkew == 0 {
			maxSkew = DefaultWebhookMaxSkew
		}
		now := time.Now
		if v.Now != nil {
			now = v.Now
		}
		skew := now().Sub(sent)
		if skew > maxSkew || skew < -maxSkew {
			return fmt.Errorf("%w: x-ms-date is %s from now", ErrWebhookStale, skew.Round(time.Second))
		}
	}
	return nil
}

// ParseWebhookEvent decodes the body of an ePayment webhook delivery. It
// requires a reference and an event name, and accepts "merchantSerialNumber"
// as an alias of "msn". Verify the delivery first; then, for decisions about
// money, read the payment with GetPayment: the event is a signal, and events
// can arrive late, twice or out of order across payments.
func ParseWebhookEvent(body []byte) (*WebhookEvent, error) {
	var ev struct {
		WebhookEvent
		MerchantSerialNumber string `json:"merchantSerialNumber"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&ev); err != nil {
		return nil, fmt.Errorf("vipps: webhook event: %w", err)
	}
	if ev.Reference == "" {
		return nil, errors.New("vipps: webhook event: reference is missing")
	}
	if ev.Name == "" {
		return nil, errors.New("vipps: webhook event: name is missing")
	}
	if ev.MSN == "" {
		ev.MSN = ev.MerchantSerialNumber
	}
	out := ev.WebhookEvent
	return &out, nil
}
