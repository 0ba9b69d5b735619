package integration

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/internal/readme"
)

// The README's demo and its several-instances recipe: the ports it names.
const (
	readmeShop = "http://localhost:8080"
	readmeSim  = "http://127.0.0.1:9190"
)

// readmeDSN is the connection string the README's recipe exports for the
// reader's own PostgreSQL; the test puts its throwaway cluster's there.
const readmeDSN = "postgres://postgres@localhost:5432/postgres?sslmode=disable"

// readmeRun runs the README's marked shell blocks as a reader would: with
// bash, in a copy of the repository with the built binary as ./caddy (and
// caddy on the PATH), in an environment without the shop's variables.
type readmeRun struct {
	t    *testing.T
	dir  string
	env  []string
	logs string
}

func newReadmeRun(t *testing.T) *readmeRun {
	t.Helper()
	for _, tool := range []string{"bash", "curl", "uuidgen", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README's commands need %s: %v", tool, err)
		}
	}
	bin := caddyBinary(t, t.TempDir())
	dir := filepath.Join(t.TempDir(), "caddy-vipps")
	copyCheckout(t, "..", dir)
	// Made after the sources are copied, ./caddy is newer than all of
	// them: ./xcaddy.sh run does not build again.
	if err := os.Symlink(bin, filepath.Join(dir, "caddy")); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	pathDir := filepath.Join(home, "bin")
	if err := os.MkdirAll(pathDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bin, filepath.Join(pathDir, "caddy")); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "VIPPS_"), name == "TOKEN", name == "INSTANCE", strings.HasPrefix(name, "XDG_"):
		case name == "PATH":
			env = append(env, "PATH="+pathDir+string(os.PathListSeparator)+value)
		default:
			env = append(env, kv)
		}
	}
	env = append(env, "XDG_DATA_HOME="+filepath.Join(home, "data"), "XDG_CONFIG_HOME="+filepath.Join(home, "config"))
	return &readmeRun{t: t, dir: dir, env: env, logs: t.TempDir()}
}

// copyCheckout copies the repository's sources, without what a clean
// clone does not have (git's files, installed packages, built binaries,
// data and artifacts).
func copyCheckout(t *testing.T, from, to string) {
	t.Helper()
	skip := []string{".git", "caddy", "data", "e2e/node_modules", "e2e/sdk/node_modules", "e2e/artifacts", "bench/results"}
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if slices.Contains(skip, filepath.ToSlash(rel)) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(to, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case info.Mode().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, info.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatalf("copying the checkout: %v", err)
	}
}

func (r *readmeRun) script(name string, replacements ...string) string {
	r.t.Helper()
	script, err := readme.Commands(filepath.Join(r.dir, "README.md"), name, replacements...)
	if err != nil {
		r.t.Fatal(err)
	}
	return "set -euo pipefail\n" + script
}

func (r *readmeRun) command(script string) *exec.Cmd {
	c := exec.Command("bash", "-c", script)
	c.Dir, c.Env = r.dir, r.env
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return c
}

// run runs the block marked name to its end and returns what it printed;
// the test fails if it fails.
func (r *readmeRun) run(name string, replacements ...string) string {
	r.t.Helper()
	c := r.command(r.script(name, replacements...))
	out, err := c.CombinedOutput()
	if err != nil {
		r.t.Fatalf("the README's %q commands failed: %v\n%s", name, err, out)
	}
	return string(out)
}

// serve starts the block marked name, whose last command serves until it
// is stopped, and waits until each of ready answers (anything but a server
// error). The test fails if the block ends first. stop ends every process
// the block started.
func (r *readmeRun) serve(name string, ready []string, replacements ...string) (stop func()) {
	r.t.Helper()
	logPath := filepath.Join(r.logs, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		r.t.Fatal(err)
	}
	c := r.command(r.script(name, replacements...))
	c.Stdout, c.Stderr = logf, logf
	if err := c.Start(); err != nil {
		r.t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- c.Wait(); logf.Close() }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
		}
		// Whatever the block left in the background goes too.
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
	}
	r.t.Cleanup(stop)
	fail := func(format string, args ...any) {
		r.t.Helper()
		stop()
		out, _ := os.ReadFile(logPath)
		if len(out) > 6000 {
			out = out[len(out)-6000:]
		}
		r.t.Fatalf("the README's %q commands: "+format+"\n%s", append(append([]any{name}, args...), out)...)
	}
	// The first run of go run builds the simulator: give it time.
	deadline := time.Now().Add(3 * time.Minute)
	for _, u := range ready {
		for {
			resp, err := http.Get(u)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode < 500 {
					break
				}
			}
			select {
			case err := <-exited:
				fail("ended (%v) before %s answered", err, u)
			default:
			}
			if time.Now().After(deadline) {
				fail("%s did not answer", u)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return stop
}

// readmeOrder is what the test reads of an order's JSON.
type readmeOrder struct {
	Status  string `json:"status"`
	Decided bool   `json:"decided"`
	Paid    bool   `json:"paid"`
	Payment struct {
		Captured int64 `json:"captured"`
	} `json:"payment"`
}

func readOrder(t *testing.T, shopURL, ref, token string) readmeOrder {
	t.Helper()
	resp, body := do(t, http.MethodGet, shopURL+"/vipps/orders/"+ref, nil, "Accept", "application/json", "Authorization", "Bearer "+token)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("order %s at %s: %d %s", ref, shopURL, resp.StatusCode, body)
	}
	var o readmeOrder
	if err := json.Unmarshal(body, &o); err != nil {
		t.Fatal(err)
	}
	return o
}

// readmePaidOrder buys qty pairs of socks at the shop as a browser would,
// approves the payment at the simulator, and waits until every one of
// shops (the instances) sees it paid.
func readmePaidOrder(t *testing.T, qty, token string, shops ...string) string {
	t.Helper()
	resp, body := do(t, http.MethodPost, readmeShop+"/vipps/checkout", strings.NewReader(url.Values{"sku": {"socks"}, "qty": {qty}}.Encode()),
		"Content-Type", "application/x-www-form-urlencoded")
	ref := resp.Header.Get("X-Vipps-Reference")
	if resp.StatusCode != http.StatusSeeOther || ref == "" || !strings.HasPrefix(resp.Header.Get("Location"), readmeSim+"/") {
		t.Fatalf("checkout: %d %q to %q: %s", resp.StatusCode, ref, resp.Header.Get("Location"), body)
	}
	if resp, body := do(t, http.MethodPost, readmeSim+"/_sim/payments/"+ref+"/approve", nil); resp.StatusCode >= 300 {
		t.Fatalf("approve %s: %d %s", ref, resp.StatusCode, body)
	}
	for _, shop := range shops {
		waitFor(t, "order "+ref+" paid at "+shop, func() bool {
			o := readOrder(t, shop, ref, token)
			return o.Decided && o.Paid
		})
	}
	return ref
}

// TestReadmeCommands runs the README's shell blocks as written, on a copy
// of the checkout with the built binary: the demo with ./xcaddy.sh run and
// with ./caddy run after the README's export (listing the modules the
// README names, validating the demo), shipping from the command line and
// with the merchant API's curl, a backup and its restore, and the
// several-instances recipe (a
// standalone simulator, two instances on PostgreSQL, a balancer), through
// which an order is bought, seen by both instances and shipped with the
// same curl.
func TestReadmeCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the built binary and a PostgreSQL cluster")
	}
	r := newReadmeRun(t)
	const token = "demo-admin-token"

	// Building: the modules the README lists are the binary's, and the
	// demo validates and runs after the README's export.
	build, err := readme.Commands(filepath.Join(r.dir, "README.md"), "build")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, line := range strings.Split(build, "\n") {
		if rest, ok := strings.CutPrefix(line, "# "); ok && strings.Contains(rest, "vipps") {
			listed = strings.Fields(rest)
		}
	}
	out, err := exec.Command(filepath.Join(r.dir, "caddy"), "list-modules").Output()
	if err != nil {
		t.Fatal(err)
	}
	var modules []string
	for _, m := range strings.Fields(string(out)) {
		if strings.Contains(m, "vipps") {
			modules = append(modules, m)
		}
	}
	if !slices.Equal(listed, modules) {
		t.Fatalf("the README lists the modules %v; caddy list-modules has %v", listed, modules)
	}
	stop := r.serve("build", []string{readmeShop + "/vipps/shop.json"})
	stop()

	// The two commands: the demo, an order, and shipping it with the
	// README's curl.
	stop = r.serve("demo", []string{readmeShop + "/vipps/shop.json"})
	ref := readmePaidOrder(t, "1", token, readmeShop)
	if out := r.run("demo-ship", "<reference>", ref); !strings.Contains(out, `"status"`) {
		t.Fatalf("ship from the command line answered: %s", out)
	}
	if o := readOrder(t, readmeShop, ref, token); o.Status != "captured" || o.Payment.Captured != 14900 {
		t.Fatalf("after the README's ship: %+v", o)
	}
	// The merchant API's curl: 149.00 of two pairs of socks, with a key.
	ref = readmePaidOrder(t, "2", token, readmeShop)
	r.run("merchant-api", "<reference>", ref)
	if o := readOrder(t, readmeShop, ref, token); o.Payment.Captured != 14900 {
		t.Fatalf("after the merchant API's ship of 14900: %+v", o)
	}
	// Backups: the shops, a backup of the running demo, and its restore
	// into an empty directory (the test's in place of the README's).
	if out := r.run("backup"); !strings.Contains(out, `"name":"default"`) {
		t.Fatalf("the shops on the admin endpoint: %s", out)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	if out := r.run("restore", "/var/lib/caddy/vipps-restored", restored); !strings.Contains(out, "restored 2 orders into "+restored) {
		t.Fatalf("the restore: %s", out)
	}
	stop()

	// Several instances: the recipe, on a throwaway PostgreSQL.
	pg := startPostgres(t)
	instances := []string{"http://127.0.0.1:8081", "http://127.0.0.1:8082"}
	stop = r.serve("instances", []string{readmeSim + "/_sim/clock", instances[0] + "/vipps/shop.json", instances[1] + "/vipps/shop.json", readmeShop + "/vipps/shop.json"},
		readmeDSN, pg.DSN())
	defer stop()
	ref = readmePaidOrder(t, "2", token, instances...)
	r.run("merchant-api", "<reference>", ref)
	for _, inst := range instances {
		if o := readOrder(t, inst, ref, token); o.Payment.Captured != 14900 {
			t.Fatalf("%s after the merchant API's ship of 14900: %+v", inst, o)
		}
	}
}

// TestReadmeXcaddyRecipePinsAsXcaddySh: the README's recipe for building
// with xcaddy yourself pins the Caddy version and the module's version as
// ./xcaddy.sh does (the zero pseudo-version that the replacement points at
// the clone), so no module proxy is asked for the module: a proxy that
// answers 403 for a module it does not have would fail the build.
func TestReadmeXcaddyRecipePinsAsXcaddySh(t *testing.T) {
	script, err := os.ReadFile("../xcaddy.sh")
	if err != nil {
		t.Fatal(err)
	}
	value := func(name string) string {
		for _, line := range strings.Split(string(script), "\n") {
			if rest, ok := strings.CutPrefix(line, name+"="); ok {
				rest = strings.Trim(rest, `"`)
				if inner, ok := strings.CutPrefix(rest, "${"+name+":-"); ok {
					rest = strings.TrimSuffix(inner, "}")
				}
				return rest
			}
		}
		t.Fatalf("xcaddy.sh sets no %s", name)
		return ""
	}
	text, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readmeText := strings.ReplaceAll(string(text), "\\\n", " ")
	for _, want := range []string{
		"xcaddy build " + value("CADDY_VERSION") + " ",
		"--with " + value("MODULE") + "@" + value("LOCAL_VERSION") + "=./caddy-vipps",
		"Requires Go 1.26 (Caddy " + value("CADDY_VERSION") + ")",
	} {
		if !strings.Contains(readmeText, want) {
			t.Errorf("the README's xcaddy recipe does not say %q as xcaddy.sh does", want)
		}
	}
}

// readmeNotRun are the README's shell blocks that TestReadmeCommands does
// not run, by their first line, and why. Any other block must be marked
// (<!-- readme-test: NAME -->) and run.
var readmeNotRun = map[string]string{
	"go test -race -count=1 ./...":                                                         "the tests themselves, which CI runs",
	"git clone <this repository> caddy-vipps":                                              "a clone and a build with the network; TestReadmeXcaddyRecipePinsAsXcaddySh checks its pins",
	"# A deposit of 1 500,00 kr at 25 % VAT, one payment, for a week:":                     "a production shop's links (shop.example.com); TestLinkBodiesAreStrict and the link walks cover the calls",
	`curl -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \`: "a production shop's sale at the counter (shop.example.com)",
}

// TestEveryReadmeCommandIsRun: each shell block of the README is marked,
// so that TestReadmeCommands runs it (and each marked block is one it
// runs), or is one of the few readmeNotRun says why not: a new command
// in the README cannot go untested unnoticed.
func TestEveryReadmeCommandIsRun(t *testing.T) {
	blocks, err := readme.Blocks("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	run := []string{"build", "demo", "demo-ship", "merchant-api", "backup", "restore", "instances"}
	var marked []string
	for _, b := range blocks {
		first, _, _ := strings.Cut(strings.TrimSpace(b.Text), "\n")
		switch {
		case b.Name != "":
			if !slices.Contains(run, b.Name) {
				t.Errorf("the README marks a block %q, which TestReadmeCommands does not run", b.Name)
			}
			marked = append(marked, b.Name)
		case readmeNotRun[first] == "":
			t.Errorf("the README's shell block that starts %q is neither run by TestReadmeCommands (mark it <!-- readme-test: NAME -->) nor in readmeNotRun", first)
		}
	}
	slices.Sort(marked)
	slices.Sort(run)
	if !slices.Equal(marked, run) {
		t.Errorf("the README marks %v; TestReadmeCommands runs %v", marked, run)
	}
}
