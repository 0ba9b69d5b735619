// Command caddy is the benchmark's Caddy: the standard modules, the vipps
// handler, and the benchmark's durable-proxy baseline
// (bench/internal/durable), so that bench/run measures the plugin and its
// baselines in one process. Not for serving a shop: build ./cmd/caddy or
// use ./xcaddy.sh for that.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-vipps/caddy-vipps"
	_ "github.com/caddy-vipps/caddy-vipps/bench/internal/durable"
)

func main() {
	caddycmd.Main()
}
