// Package e2e walks the demo shop (examples/site) in a real browser: Debian's
// chromium, headless, driven through chromedp, against an in-process Caddy
// with the vipps handler and its embedded simulator.
//
// Run it with the rest of the tests:
//
//	go test -race -count=1 ./...
//
// or on its own, with a screenshot of every step:
//
//	E2E_SCREENSHOTS=all go test -count=1 -v ./e2e/
//
// Without chromium on PATH the walks are skipped, unless
// VIPPS_E2E_REQUIRE_BROWSER=1 (as in CI), which makes that a failure.
// Screenshots of failed steps go to $E2E_ARTIFACTS, or e2e/artifacts/.
//
// The walks run Caddy in-process on admin localhost:2998 and HTTP 9081 (not
// caddytest's defaults, which the integration package's tests use at the same time).
package e2e
