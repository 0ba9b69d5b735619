package caddyvipps

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/state/postgres"
)

func init() {
	caddy.RegisterModule(BadgerEngine{})
	caddy.RegisterModule(PostgresEngine{})
}

// StoreEngine keeps a shop's orders: vipps.stores.badger (embedded, the
// default) or vipps.stores.postgres (for a shop on several instances).
type StoreEngine interface {
	// open opens (or shares, across config reloads) the shop's store;
	// release gives it back.
	open(spec *shopSpec, log *zap.Logger) (store state.Store, release func(), err error)
	// identity tells stores apart without any secret: two shops must not
	// share one.
	identity(spec *shopSpec) string
	// separate names, in the words of the config, what gives a shop a
	// store of its own: the fix when its store belongs to another shop.
	separate() string
}

// BadgerEngine keeps a shop's orders in an embedded Badger database in the
// shop's data_dir: nothing to run, one Caddy instance per shop. The
// default.
type BadgerEngine struct{}

// CaddyModule returns the Caddy module information.
func (BadgerEngine) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "vipps.stores.badger", New: func() caddy.Module { return new(BadgerEngine) }}
}

func (BadgerEngine) open(spec *shopSpec, log *zap.Logger) (state.Store, func(), error) {
	s, err := openStore(spec.dataDir, log)
	if err != nil {
		return nil, nil, err
	}
	return s, func() {
		if _, err := storePool.Delete(spec.dataDir); err != nil {
			log.Error("releasing the order database", zap.Error(err))
		}
	}, nil
}

func (BadgerEngine) identity(spec *shopSpec) string { return "badger:" + spec.dataDir }

func (BadgerEngine) separate() string { return "its own data_dir" }

// PostgresEngine keeps a shop's orders in PostgreSQL, in a schema of the
// shop's own (created and migrated at start): every Caddy instance that
// serves the shop sees every order, one instance at a time changes an
// order, and background work is shared, never doubled.
type PostgresEngine struct {
	// DSN is the connection string (postgres://user:password@host/db or
	// key=value). Give it as {env.VIPPS_DATABASE_URL} or {file.*}: a literal
	// with a password is refused, as it would sit in the JSON config.
	DSN string `json:"dsn,omitempty"`

	// Schema holds the shop's tables. Default: vipps_<shop name>, with
	// '-' as '_'.
	Schema string `json:"schema,omitempty"`

	dsn string
}

// CaddyModule returns the Caddy module information.
func (PostgresEngine) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "vipps.stores.postgres", New: func() caddy.Module { return new(PostgresEngine) }}
}

// Provision resolves the DSN's placeholders. Nothing is connected.
func (p *PostgresEngine) Provision(caddy.Context) error {
	if p.DSN == "" {
		return errors.New("store postgres: the connection string (dsn) is required, e.g. {env.VIPPS_DATABASE_URL}")
	}
	dsn, err := caddy.NewReplacer().ReplaceOrErr(p.DSN, true, true)
	if err != nil {
		return fmt.Errorf("store postgres: dsn: %v", err)
	}
	cfg, err := pgxpool.ParseConfig(strings.TrimSpace(dsn))
	if err != nil {
		return errors.New("store postgres: the connection string cannot be read")
	}
	if cfg.ConnConfig.Password != "" && !strings.Contains(p.DSN, "{") {
		return errors.New("store postgres: the connection string holds a password: give it as {env.*} or {file.*}, never in the config")
	}
	p.dsn = strings.TrimSpace(dsn)
	return nil
}

func (p *PostgresEngine) schema(spec *shopSpec) string {
	if p.Schema != "" {
		return p.Schema
	}
	return "vipps_" + strings.ReplaceAll(spec.name, "-", "_")
}

func (p *PostgresEngine) open(spec *shopSpec, log *zap.Logger) (state.Store, func(), error) {
	key := p.poolKey(spec)
	val, _, err := pgPool.LoadOrNew(key, func() (caddy.Destructor, error) {
		s, err := postgres.Open(context.Background(), p.dsn, p.schema(spec), state.Options{Logger: log.Named("postgres")})
		if err != nil {
			return nil, fmt.Errorf("opening the order database in PostgreSQL (schema %s): %w", p.schema(spec), err)
		}
		return pooledPG{s}, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return val.(pooledPG).Store, func() {
		if _, err := pgPool.Delete(key); err != nil {
			log.Error("releasing the order database", zap.Error(err))
		}
	}, nil
}

// poolKey shares one pool per database and schema across reloads; the
// DSN's password is part of it only through a hash.
func (p *PostgresEngine) poolKey(spec *shopSpec) string {
	return "postgres:" + state.Hash(p.dsn) + ":" + p.schema(spec)
}

func (p *PostgresEngine) identity(spec *shopSpec) string {
	cfg, err := pgxpool.ParseConfig(p.dsn)
	if err != nil {
		return p.poolKey(spec)
	}
	c := cfg.ConnConfig
	return fmt.Sprintf("postgres:%s:%d/%s/%s", c.Host, c.Port, c.Database, p.schema(spec))
}

func (p *PostgresEngine) separate() string {
	return "its own schema (store postgres <dsn> schema <name>)"
}

// pgPool shares one PostgreSQL store per database and schema across config
// reloads.
var pgPool = caddy.NewUsagePool()

type pooledPG struct{ *postgres.Store }

func (p pooledPG) Destruct() error { return p.Close() }

// Interface guards
var (
	_ StoreEngine       = (*BadgerEngine)(nil)
	_ StoreEngine       = (*PostgresEngine)(nil)
	_ caddy.Provisioner = (*PostgresEngine)(nil)
)
