package caddyvipps

import (
	"fmt"
	"os"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// storePool shares one open order database per data directory across
// config reloads: Caddy starts the new config before it stops the old one,
// and Badger allows only one opener of a directory. The last release closes
// it.
var storePool = caddy.NewUsagePool()

type pooledStore struct{ *state.BadgerStore }

func (p pooledStore) Destruct() error { return p.Close() }

// openStore acquires the shared store for an absolute directory; release it
// with storePool.Delete(dir).
func openStore(dir string, log *zap.Logger) (*state.BadgerStore, error) {
	val, _, err := storePool.LoadOrNew(dir, func() (caddy.Destructor, error) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating data_dir: %w", err)
		}
		s, err := state.OpenBadger(dir, state.Options{Logger: log.Named("badger")})
		if err != nil {
			return nil, fmt.Errorf("opening order database in %s: %w", dir, err)
		}
		return pooledStore{s}, nil
	})
	if err != nil {
		return nil, err
	}
	return val.(pooledStore).BadgerStore, nil
}
