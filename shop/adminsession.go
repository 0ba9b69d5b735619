package shop

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// adminSessionsMetaKey holds the generation of the admin page's sessions:
// each session is signed with the generation it began in, and signing out
// replaces the generation, which ends every session that began before, on
// every instance that shares the store.
const adminSessionsMetaKey = "admin-sessions"

// AdminSessionGeneration returns the generation the admin page's sessions
// are signed with now: empty until the first sign-out. It is read from the
// store each time (never cached), so a sign-out on one instance ends the
// sessions on all of them at once.
func (s *Service) AdminSessionGeneration() (string, error) {
	v, err := s.store.GetMeta(adminSessionsMetaKey)
	if errors.Is(err, state.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the admin sessions' generation: %w", err)
	}
	return string(v), nil
}

// EndAdminSessions ends every session of the admin page: the sessions'
// generation becomes a new random one (128 bits), which no session began
// in.
func (s *Service) EndAdminSessions() error {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Errorf("ending the admin sessions: %w", err)
	}
	if err := s.store.PutMeta(adminSessionsMetaKey, []byte(hex.EncodeToString(b[:]))); err != nil {
		return fmt.Errorf("ending the admin sessions: %w", err)
	}
	return nil
}
