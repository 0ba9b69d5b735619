package shop

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// Pushes through payment links (link_push) are bounded per phone number:
// anyone with a reusable link could otherwise make a stranger's phone ring
// as often as they post. At most PushesPerPhone pushes go to one number in
// PushWindow (Vipps' own wait for a buyer), counted in the shop's store so
// that every instance of the shop counts together. The number is never
// kept or logged as such: it is counted under an HMAC keyed with a random
// secret of the shop's, kept in the store.
const (
	PushesPerPhone = 3
	PushWindow     = 10 * time.Minute
)

// ErrPushLimited: the phone number was sent PushesPerPhone payments in the
// last PushWindow; nothing was stored or sent.
var ErrPushLimited = fmt.Errorf("payments were sent to this phone number %d times in %s; try again later or pay another way", PushesPerPhone, PushWindow)

// pushKeyMeta names the shop's secret for counting pushes.
const pushKeyMeta = "push-count-key"

// allowPush counts a push to phone (normalized) and refuses one past the
// limit.
func (s *Service) allowPush(ctx context.Context, phone string) error {
	key, err := s.pushKey(ctx)
	if err != nil {
		return err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(phone))
	n, err := s.store.CountEvent("push/"+hex.EncodeToString(m.Sum(nil)), PushWindow)
	if err != nil {
		return fmt.Errorf("counting pushes: %w", err)
	}
	if n > PushesPerPhone {
		return ErrPushLimited
	}
	return nil
}

// pushKey is the shop's secret for counting pushes: made once, by one
// instance, and kept in the store.
func (s *Service) pushKey(ctx context.Context) ([]byte, error) {
	s.pushKeyMu.Lock()
	defer s.pushKeyMu.Unlock()
	if s.pushKeyCache != nil {
		return s.pushKeyCache, nil
	}
	err := s.store.Exclusive(ctx, pushKeyMeta, func() error {
		if _, err := s.store.GetMeta(pushKeyMeta); !errors.Is(err, state.ErrNotFound) {
			return err
		}
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return err
		}
		return s.store.PutMeta(pushKeyMeta, k)
	})
	if err != nil {
		return nil, fmt.Errorf("the key for counting pushes: %w", err)
	}
	k, err := s.store.GetMeta(pushKeyMeta)
	if err != nil {
		return nil, fmt.Errorf("the key for counting pushes: %w", err)
	}
	s.pushKeyCache = k
	return k, nil
}
