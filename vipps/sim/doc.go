// Package sim is a faithful, stateful Vipps MobilePay simulator: the
// Access Token, ePayment v1, Webhooks v1 and Order Management APIs (v2, and
// the v1 image upload) on their real paths, a landing page that stands in
// for the Vipps app, and a control API under /_sim/ for tests and demos,
// open to clients on a loopback address and to holders of the control
// token.
//
// It behaves like Vipps rather than like a fixture server: tokens expire,
// every call needs the subscription key and bearer token, create requests
// are validated with Vipps' rules and error codes (problem+json with an
// ErrorCode in extraDetails), mutations are idempotent per key (the same key
// and body replay the stored answer, another body is a 409), payments move
// CREATED → AUTHORIZED / ABORTED / EXPIRED / TERMINATED with exact
// aggregates, each change is an event that is delivered as a webhook signed
// exactly as Vipps signs them, retried with backoff, in order per payment,
// and a CREATED payment expires after ten minutes of the simulator's clock.
//
// It can keep its state in a data directory across restarts
// (Options.DataDir), forget finished payments after a retention period
// (Options.Retention), and stays as fast with a hundred thousand payments
// waiting as with none.
//
// Leniencies, so that a shop runs on localhost: http:// return and webhook
// URLs are accepted, and any non-empty credentials get a token.
//
// Use it as an http.Handler:
//
//	s := sim.New(sim.Options{})
//	defer s.Close()
//	srv := httptest.NewServer(s)
//
// or standalone: go run ./cmd/vipps-sim -listen 127.0.0.1:9190. The control
// API is documented in README.md beside this file.
package sim
