// Package integration holds the end-to-end tests of caddy-vipps, as Caddy
// keeps its own in caddytest/integration: a real Caddy server (in-process
// through caddytest, or the binary built by ./xcaddy.sh when
// VIPPS_CADDY_BIN names it), the simulator on real ports, Badger on disk
// and PostgreSQL in a throwaway cluster. The root package keeps the Caddy
// glue and its own unit tests.
//
// The in-process tests bind fixed ports (HTTP 9080, the simulator 9191,
// Caddy's admin 2999), so run one such test binary at a time.
package integration
