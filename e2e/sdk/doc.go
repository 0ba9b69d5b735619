// Package sdk drives the simulator with a client nobody here wrote: the
// official Vipps MobilePay Node SDK (@vippsmobilepay/sdk, pinned in
// package.json and package-lock.json). walk.mjs makes every call the SDK
// offers for the Access Token, ePayment and Webhooks APIs — a token,
// webhook registration, create in every user flow (WEB_REDIRECT,
// NATIVE_REDIRECT, QR as SVG, SVG with a size, PNG and TEXT/TARGETURL,
// PUSH_MESSAGE), info, history, force approve by phone number and by
// token, capture, refund, cancel before and after approval, and Vipps'
// refusals — and receives the webhooks on its own HTTP server, verifying
// each signature with the algorithm Vipps documents.
//
// Install the SDK once, then run the test with the others:
//
//	(cd e2e/sdk && npm ci --no-audit --no-fund)
//	go test -count=1 ./e2e/sdk/
//
// Without node on PATH, or without the SDK installed, the test is skipped,
// unless VIPPS_E2E_REQUIRE_BROWSER=1 (as in CI), which makes that a failure.
// The simulator listens on a free port of 127.0.0.1, so the test needs no
// lock.
package sdk
