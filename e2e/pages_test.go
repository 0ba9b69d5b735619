package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// axePath is axe-core's rules engine, installed by `npm ci` in this
// directory (.ci/run does it before the tests).
const axePath = "node_modules/axe-core/axe.min.js"

// axeSource reads axe-core. Without it the page checks are skipped, or
// fail when VIPPS_E2E_REQUIRE_BROWSER=1.
func axeSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(axePath)
	if err != nil {
		msg := fmt.Sprintf("the accessibility check needs axe-core (run `npm ci` in e2e/): %v", err)
		if os.Getenv(requireBrowserEnv) == "1" {
			t.Fatalf("%s; %s=1 makes this a failure", msg, requireBrowserEnv)
		}
		t.Skipf("%s; set %s=1 to make this a failure", msg, requireBrowserEnv)
	}
	return string(b)
}

// catalog is every text a page may show, by language: the built-in pages'
// message files and the demo site's texts.
type catalog map[string]map[string]string

func loadCatalog(t *testing.T) catalog {
	t.Helper()
	c := catalog{}
	for _, lang := range []string{"en", "nb", "da", "sv", "fi"} {
		var texts map[string]string
		b, err := os.ReadFile(filepath.Join("..", "handlers", "locales", lang+".json"))
		if err == nil {
			err = json.Unmarshal(b, &texts)
		}
		if err != nil {
			t.Fatalf("reading the %s message file: %v", lang, err)
		}
		c[lang] = texts
	}
	var site map[string]map[string]string
	b, err := os.ReadFile(filepath.Join("..", "examples", "site", "texts.json"))
	if err == nil {
		err = json.Unmarshal(b, &site)
	}
	if err != nil {
		t.Fatalf("reading the demo site's texts: %v", err)
	}
	for lang, texts := range site {
		for k, v := range texts {
			c[lang]["site."+k] = v
		}
	}
	return c
}

var placeholderRE = regexp.MustCompile(`\{[a-z]+\}`)

// englishLeft returns English texts of the catalog that stand on a page in
// another language: each English text whose translation differs is cut at
// its placeholders, and every piece long enough to mean something is
// looked for.
func (c catalog) englishLeft(lang, page string) []string {
	var found []string
	for key, en := range c["en"] {
		if c[lang][key] == en {
			continue
		}
		for _, piece := range placeholderRE.Split(en, -1) {
			piece = strings.TrimSpace(piece)
			if len(piece) >= 14 && strings.Contains(page, piece) {
				found = append(found, key+": "+piece)
			}
		}
	}
	return found
}

var keyRE = regexp.MustCompile(`\b(admin|items|order|overview|error|status|waiting|confirmed|cancelled|format|title|mark|cart|index|phone|desc|skip|nav|link|kiosk)\.[a-z_]+(\.[a-z_]+)*\b`)

// viewport sets the tab's width (390 px is a phone's) and the browser's
// languages, which both Accept-Language and navigator.languages
// then report.
func (p *tab) viewport(width int64, languages string) {
	p.b.t.Helper()
	ua := run(p, "read the user agent", chromedp.Evaluate[string](`navigator.userAgent`))
	// Not emulated as a mobile device: a phone zooms out to show a page
	// that is too wide, and window.innerWidth would grow with it.
	p.do(fmt.Sprintf("a %d px window in %s", width, languages),
		chromedp.EmulateViewport(width, 844),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua, AcceptLanguage: languages})
			return err
		}),
	)
}

// clearCookies signs the merchant out of every tab of the browser.
func (p *tab) clearCookies() {
	p.do("clear the cookies", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.ClearBrowserCookies, cdp.Empty{})
		return err
	}))
}

// axeViolation is one rule axe-core found broken.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []string `json:"target"`
	} `json:"nodes"`
}

// checkPage checks the page the tab shows, as a person at that width in
// that language would meet it: nothing wider than the window, no message
// key and (in a language other than English) no English text of the
// catalogs, and no serious or critical accessibility violation by
// axe-core. It always saves a screenshot, named after the page.
func (p *tab) checkPage(name, lang string, width int64, c catalog, axe string) {
	p.b.t.Helper()
	label := fmt.Sprintf("%s %s %dpx", name, lang, width)
	defer p.screenshot(label)
	if got := run(p, label+": read the language", chromedp.Evaluate[string](`document.documentElement.lang`)); got != lang {
		p.fail(label, "the page is in %q, want %q", got, lang)
	}
	widths := run(p, label+": measure", chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, window.innerWidth, document.documentElement.clientWidth]`))
	if len(widths) != 3 || widths[1] != int(width) || widths[0] > widths[1] || widths[0] > widths[2] {
		p.fail(label, "the page is %v px wide in a %v px window (%v px without the scroll bar), want at most %d", widths[0], widths[1], widths[2], width)
	}
	text := run(p, label+": read the text", chromedp.Evaluate[string](`document.title + "\n" + document.body.innerText + "\n" +
		Array.from(document.querySelectorAll("[aria-label],[placeholder],[alt],[title]")).map(e => [e.getAttribute("aria-label"), e.getAttribute("placeholder"), e.getAttribute("alt"), e.getAttribute("title")].join(" ")).join("\n")`))
	text = strings.Join(strings.Fields(strings.NewReplacer("\u00a0", " ", "\u202f", " ").Replace(text)), " ")
	if m := keyRE.FindString(text); m != "" {
		p.fail(label, "the page shows the message key %q", m)
	}
	if lang != "en" {
		if left := c.englishLeft(lang, text); len(left) > 0 {
			p.fail(label, "the page shows English: %v", left)
		}
	}
	if !run(p, label+": load axe-core", chromedp.Evaluate[bool](axe+"\n;typeof axe === 'object'")) {
		p.fail(label, "axe-core did not load")
	}
	raw := run(p, label+": run axe-core", chromedp.Evaluate[string](`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
	var violations []axeViolation
	if err := json.Unmarshal([]byte(raw), &violations); err != nil {
		p.fail(label, "reading axe-core's answer: %v", err)
	}
	var serious []string
	for _, v := range violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			var where []string
			for _, n := range v.Nodes {
				where = append(where, strings.Join(n.Target, " "))
			}
			serious = append(serious, fmt.Sprintf("%s (%s): %s at %s", v.ID, v.Impact, v.Help, strings.Join(where, ", ")))
		}
	}
	if len(serious) > 0 {
		p.fail(label, "accessibility: %s", strings.Join(serious, "; "))
	}
}
