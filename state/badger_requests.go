package state

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"
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
}

// Answered reports whether the request has an answer to replay.
func (r *KeyedRequest) Answered() bool { return r.Status != 0 }

func requestKey(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return []byte(prefixRequest + hex.EncodeToString(sum[:]))
}

// BeginRequest starts or finds the request with a merchant's key, in one
// transaction:
//
//   - a key not seen in RequestKeyTTL starts a request (fresh is true);
//   - a key seen with another fingerprint is ErrKeyReused;
//   - a key whose request was answered returns that record, to replay;
//   - a key whose request started less than inFlight ago and has no answer
//     yet is ErrKeyInFlight;
//   - a key whose request started longer ago and never answered (its
//     process died) starts again (fresh is true): the caller must then look
//     for what that first attempt already did before doing anything new.
func (s *BadgerStore) BeginRequest(key, fingerprint, ref string, inFlight time.Duration) (*KeyedRequest, bool, error) {
	var (
		rec   KeyedRequest
		fresh bool
	)
	err := s.retry(func(txn *badger.Txn) error {
		fresh = false
		now := s.now().UTC()
		err := getJSON(txn, string(requestKey(key)), &rec)
		if err == nil && !now.Before(rec.ExpiresAt) {
			err = ErrNotFound
		}
		switch {
		case errors.Is(err, ErrNotFound):
			rec = KeyedRequest{Key: key, Fingerprint: fingerprint, Reference: ref, StartedAt: now, ExpiresAt: now.Add(RequestKeyTTL)}
		case err != nil:
			return err
		case rec.Fingerprint != fingerprint:
			return ErrKeyReused
		case rec.Answered():
			return nil
		case now.Before(rec.StartedAt.Add(inFlight)):
			return ErrKeyInFlight
		default:
			rec.StartedAt = now
		}
		fresh = true
		return putRequest(txn, &rec, now)
	})
	if err != nil {
		return nil, false, err
	}
	return &rec, fresh, nil
}

// Answer is what a keyed request was answered.
type Answer struct {
	Status      int
	ContentType string
	Body        []byte
	// OpID names the operation the request started, if any.
	OpID string
}

// AnswerRequest stores the answer to a keyed request, for retries to get.
func (s *BadgerStore) AnswerRequest(key string, a Answer) error {
	return s.retry(func(txn *badger.Txn) error {
		var rec KeyedRequest
		if err := getJSON(txn, string(requestKey(key)), &rec); err != nil {
			return err
		}
		now := s.now().UTC()
		rec.Status, rec.ContentType, rec.Body, rec.OpID, rec.AnsweredAt = a.Status, a.ContentType, a.Body, a.OpID, now
		return putRequest(txn, &rec, now)
	})
}

// ForgetRequest drops a key whose request ended with nothing worth
// replaying (it was refused before anything happened), so that a retry with
// it runs again.
func (s *BadgerStore) ForgetRequest(key string) error {
	return s.retry(func(txn *badger.Txn) error { return txn.Delete(requestKey(key)) })
}

func putRequest(txn *badger.Txn, rec *KeyedRequest, now time.Time) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	ttl := rec.ExpiresAt.Sub(now)
	if ttl < time.Second {
		ttl = time.Second
	}
	return txn.SetEntry(badger.NewEntry(requestKey(rec.Key), data).WithTTL(ttl))
}
