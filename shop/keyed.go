package shop

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// Errors of a merchant's Idempotency-Key.
var (
	// ErrKeyReused: the key was used before for a different request.
	ErrKeyReused = state.ErrKeyReused
	// ErrKeyInFlight: the first request with the key has not finished.
	ErrKeyInFlight = state.ErrKeyInFlight
)

// MaxClientKeyLength bounds a merchant's Idempotency-Key.
const MaxClientKeyLength = 255

// CheckClientKey checks a merchant's Idempotency-Key: 1 to 255 printable
// ASCII characters.
func CheckClientKey(key string) error {
	if key == "" || len(key) > MaxClientKeyLength {
		return &InputError{Field: "Idempotency-Key", Reason: "must be 1 to 255 characters"}
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return &InputError{Field: "Idempotency-Key", Reason: "must be printable ASCII without spaces (a UUID is a good key)"}
		}
	}
	return nil
}

// Fingerprint identifies what a keyed request asks, so that the same key
// with another operation, order or body is told apart from a retry.
func Fingerprint(kind, ref string, canonicalBody []byte) string {
	h := sha256.New()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(ref))
	h.Write([]byte{0})
	h.Write(canonicalBody)
	return hex.EncodeToString(h.Sum(nil))
}

// BeginKeyed starts (or finds) the request a merchant sent with an
// Idempotency-Key of its own; see state.Store.BeginRequest. A request counts
// as in flight for the hand-over time, longer than any request can run.
func (s *Service) BeginKeyed(key, fingerprint, ref string) (*state.KeyedRequest, bool, error) {
	rec, fresh, err := s.store.BeginRequest(key, fingerprint, ref, s.Handover())
	if err != nil && !errors.Is(err, state.ErrKeyReused) && !errors.Is(err, state.ErrKeyInFlight) {
		return nil, false, err
	}
	return rec, fresh, err
}

// AnswerKeyed keeps the answer a keyed request got, for its retries.
func (s *Service) AnswerKeyed(key string, a state.Answer) error { return s.store.AnswerRequest(key, a) }

// ForgetKeyed lets a key whose request was refused before anything happened
// be used again.
func (s *Service) ForgetKeyed(key string) error { return s.store.ForgetRequest(key) }
