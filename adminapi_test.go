package caddyvipps

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// failingBackup is a store whose backup fails after its first bytes.
type failingBackup struct{ state.Store }

func (failingBackup) Backup(w io.Writer) (uint64, error) {
	_, _ = w.Write([]byte(strings.Repeat("x", 64<<10)))
	return 0, errors.New("disk read error")
}

// TestBackupFailingPartWayIsBrokenOff: a backup whose store fails after
// the answer began is broken off, so the download fails instead of
// leaving a file that looks like a whole backup.
func TestBackupFailingPartWayIsBrokenOff(t *testing.T) {
	rt := &shopRuntime{store: failingBackup{}}
	e := &shopEntry{name: "default"}
	e.runtime.Store(rt)
	app := &App{logger: zap.NewNop(), shops: &registry{entries: map[string]*shopEntry{"default": e}}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = backup(w, app, "default")
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		return // broken off before the answer began: failed too
	}
	defer resp.Body.Close()
	if n, err := io.Copy(io.Discard, resp.Body); err == nil {
		t.Fatalf("a failed backup downloaded as %d whole bytes", n)
	}
}
