package state

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"
)

func requestKey(key string) []byte { return []byte(prefixRequest + Hash(key)) }

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
		now := s.now().UTC()
		var stored *KeyedRequest
		var cur KeyedRequest
		switch err := getJSON(txn, string(requestKey(key)), &cur); {
		case err == nil:
			stored = &cur
		case !errors.Is(err, ErrNotFound):
			return err
		}
		var err error
		rec, fresh, err = DecideRequest(stored, key, fingerprint, ref, now, inFlight)
		if err != nil || !fresh {
			return err
		}
		return putRequest(txn, &rec, now)
	})
	if err != nil {
		return nil, false, err
	}
	return &rec, fresh, nil
}

// AnswerRequest stores the answer to a keyed request, for retries to get.
func (s *BadgerStore) AnswerRequest(key string, a Answer) error {
	return s.retry(func(txn *badger.Txn) error {
		var rec KeyedRequest
		if err := getJSON(txn, string(requestKey(key)), &rec); err != nil {
			return err
		}
		now := s.now().UTC()
		rec = rec.WithAnswer(a, now)
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
