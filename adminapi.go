package caddyvipps

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

func init() {
	caddy.RegisterModule(adminAPI{})
}

// adminAPI serves the vipps app on Caddy's admin endpoint (by default
// localhost:2019, reachable only from the machine):
//
//	GET /vipps/shops                  the shops: name, environment, data directory, running
//	GET /vipps/shops/<name>/backup    a consistent online backup of the shop's database
//
// The backup is Badger's own format, taken from one snapshot while the shop
// keeps serving; restore it into an empty directory with
// "caddy vipps-restore" while Caddy is stopped.
type adminAPI struct{}

// CaddyModule returns the Caddy module information.
func (adminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.vipps",
		New: func() caddy.Module { return new(adminAPI) },
	}
}

// Routes returns the admin routes of the vipps app.
func (a *adminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: "/vipps/", Handler: caddy.AdminHandlerFunc(a.serve)}}
}

// ShopInfo is a shop as the admin endpoint lists it.
type ShopInfo struct {
	Name        string `json:"name"`
	Environment string `json:"environment"`
	DataDir     string `json:"data_dir"`
	// Store says where the orders are (engine, and directory or server and
	// schema), without secrets.
	Store   string `json:"store"`
	Running bool   `json:"running"`
}

func (a *adminAPI) serve(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errors.New("use GET")}
	}
	app, err := runningApp()
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: err}
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/vipps/"), "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "shops":
		var out []ShopInfo
		for _, e := range app.sortedEntries() {
			if e.spec == nil {
				continue
			}
			out = append(out, ShopInfo{Name: e.name, Environment: e.spec.cfg.Environment, DataDir: e.spec.dataDir, Store: e.spec.engine.identity(e.spec), Running: e.runtime.Load() != nil})
		}
		w.Header().Set("Content-Type", "application/json")
		return json.NewEncoder(w).Encode(out)
	case len(parts) == 3 && parts[0] == "shops" && parts[2] == "backup":
		return backup(w, app, parts[1])
	}
	return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("no such vipps endpoint %s", r.URL.Path)}
}

// backup streams a consistent snapshot of a running shop's database.
func backup(w http.ResponseWriter, app *App, name string) error {
	app.shops.mu.Lock()
	e := app.shops.entries[name]
	app.shops.mu.Unlock()
	if e == nil {
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("no shop %q", name)}
	}
	rt := e.runtime.Load()
	if rt == nil || !rt.enter() {
		return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: fmt.Errorf("shop %q is not running", name)}
	}
	defer rt.leave()
	b, ok := rt.store.(interface {
		Backup(io.Writer) (uint64, error)
	})
	if !ok {
		return caddy.APIError{HTTPStatus: http.StatusNotImplemented, Err: fmt.Errorf("shop %q keeps its orders in PostgreSQL: back it up with pg_dump", name)}
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="vipps-%s-%s.badger"`, name, time.Now().UTC().Format("20060102T150405Z")))
	if _, err := b.Backup(w); err != nil {
		// The status is sent: break the transfer off, so that the client
		// sees a failed download, never a file that looks whole.
		app.logger.Error("backup failed", zap.String("shop", name), zap.Error(err))
		panic(http.ErrAbortHandler)
	}
	return nil
}

// runningApp is the vipps app of the running config.
func runningApp() (*App, error) {
	ctx := caddy.ActiveContext()
	appAny, err := ctx.AppIfConfigured("vipps")
	if err != nil {
		return nil, errors.New("no vipps shops in the running config")
	}
	return appAny.(*App), nil
}

// Interface guards
var _ caddy.AdminRouter = (*adminAPI)(nil)
