// Command caddy is Caddy with the standard modules and the vipps handler, for
// a plain `go build ./cmd/caddy` without xcaddy.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-vipps/caddy-vipps"
)

func main() {
	caddycmd.Main()
}
