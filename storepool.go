package caddyvipps

import (
	"fmt"
	"os"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// storePool shares one open order database per data directory across
// config reloads: Caddy provisions the new config before it cleans up the
// old one, and Badger allows only one opener of a directory.
var storePool = caddy.NewUsagePool()

type pooledStore struct{ *state.Store }

func (p pooledStore) Destruct() error { return p.Close() }

// openStore acquires the shared store for h.DataDir. storeKey is set only on
// success, so a failed provision never releases someone else's reference.
func (h *Handler) openStore() error {
	dir, err := caddy.FastAbs(h.DataDir)
	if err != nil {
		return fmt.Errorf("data_dir %q: %w", h.DataDir, err)
	}
	val, _, err := storePool.LoadOrNew(dir, func() (caddy.Destructor, error) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating data_dir: %w", err)
		}
		s, err := state.Open(dir, state.Options{Logger: h.logger.Named("badger")})
		if err != nil {
			return nil, fmt.Errorf("opening order database in %s: %w", dir, err)
		}
		return pooledStore{s}, nil
	})
	if err != nil {
		return err
	}
	h.store = val.(pooledStore).Store
	h.storeKey = dir
	return nil
}
