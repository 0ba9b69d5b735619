package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

const (
	// requireBrowserEnv makes a missing chromium a failure instead of a skip
	// (CI sets it).
	requireBrowserEnv = "VIPPS_E2E_REQUIRE_BROWSER"
	// artifactsEnv names the directory for screenshots; default artifacts/
	// in this package's directory.
	artifactsEnv = "E2E_ARTIFACTS"
	// screenshotsEnv=all saves a screenshot after every step, not only
	// after a failed one.
	screenshotsEnv = "E2E_SCREENSHOTS"
	// browserEnv overrides the browser binary (default: chromium on PATH).
	browserEnv = "E2E_CHROMIUM"

	stepTimeout = 30 * time.Second
)

// browserPath finds chromium. Without it the test is skipped, or fails
// when VIPPS_E2E_REQUIRE_BROWSER=1.
func browserPath(t *testing.T) string {
	t.Helper()
	name := "chromium"
	if p := os.Getenv(browserEnv); p != "" {
		name = p
	}
	path, err := exec.LookPath(name)
	if err != nil {
		msg := fmt.Sprintf("browser walk needs %s (Debian: apt-get install chromium): %v", name, err)
		if os.Getenv(requireBrowserEnv) == "1" {
			t.Fatalf("%s; %s=1 makes this a failure", msg, requireBrowserEnv)
		}
		t.Skipf("%s; set %s=1 to make this a failure", msg, requireBrowserEnv)
	}
	return path
}

// browser is one headless chromium with a fresh profile, for one test.
type browser struct {
	t         *testing.T
	ctx       context.Context // the first tab; the browser lives as long as it
	artifacts string          // where screenshots go, one directory per test
	everyStep bool
	mu        sync.Mutex
	shots     int
}

// startBrowser starts chromium headless with a throw-away profile (and
// the given options besides). It is closed when the test ends.
func startBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	exe := browserPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1280, 900),
	)
	opts = append(opts, extra...)
	// A chromium that dies while starting (it happens now and then on a
	// busy machine, with nothing on its stderr) is started again, twice
	// at most, with a fresh profile.
	var ctx context.Context
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(opts, chromedp.UserDataDir(t.TempDir()))...)
		c, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
		t.Cleanup(func() {
			cancelCtx()
			cancelAlloc()
		})
		// Start the browser with a context that has no deadline: the first
		// Run binds the browser's life to its context.
		if err = chromedp.Do(c); err == nil {
			ctx = c
			break
		}
		t.Logf("starting %s (attempt %d): %v", exe, attempt, err)
		cancelCtx()
		cancelAlloc()
	}
	if ctx == nil {
		t.Fatalf("starting %s: %v", exe, err)
	}

	dir := os.Getenv(artifactsEnv)
	if dir == "" {
		dir = "artifacts"
	}
	dir, err = filepath.Abs(filepath.Join(dir, sanitize(t.Name())))
	if err != nil {
		t.Fatalf("artifacts directory: %v", err)
	}
	// Old screenshots of this test would only confuse.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatalf("clearing %s: %v", dir, err)
	}
	return &browser{t: t, ctx: ctx, artifacts: dir, everyStep: os.Getenv(screenshotsEnv) == "all"}
}

// tab is one browser tab. It records the X-Vipps-Reference header of every
// response it sees, so a walk knows the order reference of its checkout.
type tab struct {
	b    *browser
	ctx  context.Context
	name string

	mu   sync.Mutex
	refs []string
}

// firstTab returns the tab the browser started with.
func (b *browser) firstTab(name string) *tab {
	p := &tab{b: b, ctx: b.ctx, name: name}
	if err := chromedp.Listen(b.ctx, p.record); err != nil {
		b.t.Fatalf("listening to tab %s: %v", name, err)
	}
	return p
}

// newTab opens a new tab in the same browser (same profile and cookies), as
// when a link opens in a new tab.
func (b *browser) newTab(name string) *tab {
	b.t.Helper()
	p := &tab{b: b, name: name}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithListener(p.record))
	b.t.Cleanup(cancel)
	p.ctx = ctx
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("opening tab %s: %v", name, err)
	}
	return p
}

// record notes order references from the X-Vipps-Reference response
// header, including on redirects (the checkout answers a form with 303).
// It runs in the tab's event loop and must return quickly.
func (p *tab) record(ev any) {
	var h network.Headers
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if ev.RedirectResponse != nil {
			h = ev.RedirectResponse.Headers
		}
	case *network.EventResponseReceived:
		if ev.Response != nil {
			h = ev.Response.Headers
		}
	}
	for k, v := range h {
		if s, ok := v.(string); ok && strings.EqualFold(k, "X-Vipps-Reference") && s != "" {
			p.mu.Lock()
			p.refs = append(p.refs, s)
			p.mu.Unlock()
		}
	}
}

// lastRef is the last order reference the tab saw in a response header.
func (p *tab) lastRef() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.refs) == 0 {
		return ""
	}
	return p.refs[len(p.refs)-1]
}

// do runs one named step. On failure it saves a screenshot and the page's
// HTML, then fails the test.
func (p *tab) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	p.b.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fail(step, "%v", err)
	}
	p.stepDone(step)
}

// run is do for an action that returns a value.
func run[T any](p *tab, step string, a chromedp.Action[T]) T {
	p.b.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.fail(step, "%v", err)
	}
	p.stepDone(step)
	return v
}

// waitFor evaluates the JavaScript condition until it is true, across page
// loads and redirects (an evaluation that fails while a page is being
// replaced is simply tried again).
func (p *tab) waitFor(step, condition string, timeout time.Duration) {
	p.b.t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](condition))
		cancel()
		if err == nil && ok {
			p.stepDone(step)
			return
		}
		if err != nil {
			lastErr = err
		}
		if time.Now().After(deadline) {
			if lastErr != nil {
				p.fail(step, "still false after %v: %s (last error: %v)", timeout, condition, lastErr)
			}
			p.fail(step, "still false after %v: %s", timeout, condition)
		}
		if p.ctx.Err() != nil {
			p.fail(step, "%v", p.ctx.Err())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// text returns the visible text of the first element matching the CSS
// selector, waiting for it to be visible.
func (p *tab) text(step, css string) string {
	p.b.t.Helper()
	return strings.TrimSpace(run(p, step, chromedp.Text(chromedp.CSS(css), chromedp.NodeVisible)))
}

// location returns the tab's current URL.
func (p *tab) location() string {
	p.b.t.Helper()
	return run(p, "read the location", chromedp.Location())
}

// fail saves a screenshot and the HTML of the page, then fails the test
// with the step's name, the page's URL and where the artifacts are.
func (p *tab) fail(step, format string, args ...any) {
	p.b.t.Helper()
	msg := fmt.Sprintf(format, args...)
	loc, _ := quick(p, chromedp.Location())
	saved := p.screenshot("FAILED " + step)
	p.b.t.Fatalf("%s: step %q failed at %s: %s%s", p.name, step, loc, msg, saved)
}

// stepDone saves a screenshot after a successful step when
// E2E_SCREENSHOTS=all.
func (p *tab) stepDone(step string) {
	if p.b.everyStep {
		if s := p.screenshot(step); strings.HasPrefix(s, "; could not") {
			p.b.t.Log(strings.TrimPrefix(s, "; "))
		}
	}
}

// screenshot writes a PNG of the whole page (and its HTML next to it) into
// the artifacts directory. It returns a note for an error message.
func (p *tab) screenshot(step string) string {
	b := p.b
	b.mu.Lock()
	b.shots++
	n := b.shots
	b.mu.Unlock()
	if err := os.MkdirAll(b.artifacts, 0o755); err != nil {
		return fmt.Sprintf("; could not save a screenshot: %v", err)
	}
	base := filepath.Join(b.artifacts, fmt.Sprintf("%02d-%s-%s", n, sanitize(p.name), sanitize(step)))
	png, err := quick(p, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Sprintf("; could not take a screenshot: %v", err)
	}
	if err := os.WriteFile(base+".png", png, 0o644); err != nil {
		return fmt.Sprintf("; could not save a screenshot: %v", err)
	}
	if html, err := quick(p, chromedp.OuterHTML(chromedp.CSS("html"))); err == nil {
		_ = os.WriteFile(base+".html", []byte(html), 0o644)
	}
	return "; screenshot: " + base + ".png"
}

// quick runs an action with a short timeout of its own, for diagnostics
// after another action may have used up its time.
func quick[T any](p *tab, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, a)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// sanitize makes s usable as part of a file name.
func sanitize(s string) string {
	s = strings.Trim(unsafeName.ReplaceAllString(s, "_"), "_")
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

// moneyPatterns match amounts with two decimals as pages show them:
// "497.00", "497,00", and with thousands separators "1 497,00", "1,497.00".
var moneyPatterns = []*regexp.Regexp{
	regexp.MustCompile(`\d+[.,]\d{2}\b`),
	regexp.MustCompile(`\d{1,3}(?:[\x{a0}\x{202f} .,]\d{3})+[.,]\d{2}\b`),
}

// amountsIn returns every amount in s, in minor units.
func amountsIn(s string) []int64 {
	var found []string
	for _, re := range moneyPatterns {
		found = append(found, re.FindAllString(s, -1)...)
	}
	var out []int64
	for _, m := range found {
		whole, frac := m[:len(m)-3], m[len(m)-2:]
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, whole)
		v, err := strconv.ParseInt(digits+frac, 10, 64)
		if err == nil {
			out = append(out, v)
		}
	}
	return out
}

// showsAmount reports whether text shows the amount (in minor units).
func showsAmount(text string, minor int64) bool {
	for _, v := range amountsIn(text) {
		if v == minor {
			return true
		}
	}
	return false
}

// kr formats minor units the way the demo site shows prices.
func kr(minor int64) string {
	return fmt.Sprintf("%d.%02d kr", minor/100, minor%100)
}
