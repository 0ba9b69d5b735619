package e2e

import (
	"fmt"
	"os"
	"testing"
)

// TestMain gives the in-process Caddy (and chromium) their own data and
// config directories, so a test run never reads or writes the developer's
// ~/.local/share/caddy or ~/.config/caddy.
//
// caddytest runs Caddy inside this test binary, and a few of Caddy's paths
// are fixed when its package is initialised, before TestMain runs. The test
// config therefore also sets `persist_config off` and `storage file_system`
// to a temporary directory, and gives vipps an explicit data_dir. For full
// isolation, set XDG_DATA_HOME and XDG_CONFIG_HOME in the environment of
// `go test` as well (.ci/run does).
func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "vipps-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	for _, v := range []string{"XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"} {
		if os.Getenv(v) != "" {
			continue
		}
		d, err := os.MkdirTemp(dir, v+"-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		os.Setenv(v, d)
	}
	return m.Run()
}
