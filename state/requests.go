package state

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// RequestKeyTTL is how long a merchant's Idempotency-Key is remembered,
// from the first request that used it.
const RequestKeyTTL = 24 * time.Hour

// Errors of keyed requests.
var (
	// ErrKeyReused: the key was used before with a different request.
	ErrKeyReused = errors.New("this Idempotency-Key was already used with a different request")
	// ErrKeyInFlight: the first request with this key is still running.
	ErrKeyInFlight = errors.New("a request with this Idempotency-Key is still being processed")
)

// KeyedRequest is a merchant request sent with an Idempotency-Key of the
// merchant's own: what it asked (a fingerprint of the operation, order and
// body), and, once given, the answer that a retry with the same key gets.
type KeyedRequest struct {
	Key         string    `json:"key"`
	Fingerprint string    `json:"fingerprint"`
	Reference   string    `json:"reference"`
	StartedAt   time.Time `json:"started_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	// Status, ContentType and Body are the answer given (Status 0 while
	// there is none).
	Status      int    `json:"status,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Body        []byte `json:"body,omitempty"`
	// OpID names the operation the request started, if any.
	OpID       string    `json:"op_id,omitempty"`
	AnsweredAt time.Time `json:"answered_at,omitzero"`
	// Undecided marks an answer that said the outcome was not known
	// (503): it is not replayed; a retry runs the request again, and the
	// request finds what the first attempt did.
	Undecided bool `json:"undecided,omitempty"`
}

// Answered reports whether the request has an answer to replay.
func (r *KeyedRequest) Answered() bool { return r.Status != 0 }

// DecideRequest applies the rules of Store.BeginRequest to the record
// stored for a key (nil when there is none): it returns the record to keep
// (and, when fresh, to write) or the error to answer with.
func DecideRequest(stored *KeyedRequest, key, fingerprint, ref string, now time.Time, inFlight time.Duration) (KeyedRequest, bool, error) {
	if stored == nil || !now.Before(stored.ExpiresAt) {
		return KeyedRequest{Key: key, Fingerprint: fingerprint, Reference: ref, StartedAt: now, ExpiresAt: now.Add(RequestKeyTTL)}, true, nil
	}
	rec := *stored
	switch {
	case rec.Fingerprint != fingerprint:
		return rec, false, ErrKeyReused
	case rec.Answered() && !rec.Undecided:
		return rec, false, nil
	case !rec.Answered() && now.Before(rec.StartedAt.Add(inFlight)):
		return rec, false, ErrKeyInFlight
	}
	// Started again: its process died, or its outcome was not known.
	rec.StartedAt = now
	rec.Status, rec.ContentType, rec.Body, rec.OpID, rec.AnsweredAt, rec.Undecided = 0, "", nil, "", time.Time{}, false
	return rec, true, nil
}

// Answer is what a keyed request was answered.
type Answer struct {
	Status      int
	ContentType string
	Body        []byte
	// OpID names the operation the request started, if any.
	OpID string
	// Undecided: the answer said the outcome was not known; a retry runs
	// the request again instead of getting this answer.
	Undecided bool
}

// WithAnswer returns the record with its answer.
func (r KeyedRequest) WithAnswer(a Answer, now time.Time) KeyedRequest {
	r.Status, r.ContentType, r.Body, r.OpID, r.AnsweredAt, r.Undecided = a.Status, a.ContentType, a.Body, a.OpID, now, a.Undecided
	return r
}

// Hash is the hex SHA-256 of a merchant's key or a webhook signature: what
// the stores keep instead of the value itself.
func Hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
