// Package durable is the benchmark's physical baseline for a checkout: a
// Caddy handler that makes one synced Badger write of an order's size and
// hands the request on (to reverse_proxy, in the benchmark's Caddyfile).
// A "durable proxy" — the least any checkout that keeps its order on disk
// before the payment is created must do: one fsync, one proxied create. It
// lives in the benchmark's own Caddy build (bench/caddy), never in the
// plugin's.
//
//	route {
//		bench_durable_write {
//			dir   /tmp/durable
//			bytes 640
//		}
//		reverse_proxy 127.0.0.1:9290
//	}
package durable

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dgraph-io/badger/v4"

	"github.com/caddy-vipps/caddy-vipps/state"
)

func init() {
	caddy.RegisterModule(Write{})
	httpcaddyfile.RegisterHandlerDirective("bench_durable_write", parseCaddyfile)
}

// Write makes one synced Badger write per request, then calls the next
// handler.
type Write struct {
	// Dir is the Badger directory (opened with the order store's own
	// options: state.OpenBadger, every commit synced).
	Dir string `json:"dir,omitempty"`
	// Bytes is the size of the value written per request: a stored
	// order's. Default: 640.
	Bytes int `json:"bytes,omitempty"`

	store *state.BadgerStore
}

// CaddyModule returns the Caddy module information.
func (Write) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.bench_durable_write",
		New: func() caddy.Module { return new(Write) },
	}
}

// Provision opens the store.
func (w *Write) Provision(caddy.Context) error {
	if w.Dir == "" {
		return fmt.Errorf("bench_durable_write: dir is required")
	}
	if w.Bytes <= 0 {
		w.Bytes = 640
	}
	s, err := state.OpenBadger(w.Dir, state.Options{})
	if err != nil {
		return err
	}
	w.store = s
	return nil
}

// Cleanup closes the store.
func (w *Write) Cleanup() error {
	if w.store == nil {
		return nil
	}
	return w.store.Close()
}

// ServeHTTP writes, then hands on.
func (w *Write) ServeHTTP(rw http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	key := make([]byte, 18)
	_, _ = rand.Read(key[2:])
	copy(key, "d/")
	val := make([]byte, w.Bytes)
	_, _ = rand.Read(val)
	if err := w.store.DB().Update(func(txn *badger.Txn) error { return txn.Set(key, val) }); err != nil {
		return caddyhttp.Error(http.StatusServiceUnavailable, err)
	}
	return next.ServeHTTP(rw, r)
}

// UnmarshalCaddyfile reads the directive.
func (w *Write) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	for d.NextBlock(0) {
		switch d.Val() {
		case "dir":
			if !d.NextArg() {
				return d.ArgErr()
			}
			w.Dir = d.Val()
		case "bytes":
			if !d.NextArg() {
				return d.ArgErr()
			}
			n, err := strconv.Atoi(d.Val())
			if err != nil || n <= 0 {
				return d.Errf("bytes: %q is not a positive number", d.Val())
			}
			w.Bytes = n
		default:
			return d.Errf("unknown option %q", d.Val())
		}
	}
	return nil
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	var w Write
	err := w.UnmarshalCaddyfile(h.Dispenser)
	return &w, err
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Write)(nil)
	_ caddy.CleanerUpper          = (*Write)(nil)
	_ caddyhttp.MiddlewareHandler = (*Write)(nil)
	_ caddyfile.Unmarshaler       = (*Write)(nil)
)
