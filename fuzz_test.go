package caddyvipps

import (
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// FuzzUnmarshalCaddyfile: any vipps block either parses or gives an error;
// it never panics.
func FuzzUnmarshalCaddyfile(f *testing.F) {
	f.Add("vipps {\n\tproduct socks 14900 \"Wool socks\" vat 25\n\tcurrency NOK\n}")
	f.Add("vipps {\n\tmax_body_size 1KB\n\tpoll_interval 1s\n\tadmin_users a b\n}")
	f.Add("vipps {\n\tproduct a 1 A vat 25.5\n\tcurrency EUR\n}")
	f.Add("vipps foo {\n}")
	f.Fuzz(func(t *testing.T, input string) {
		tokens, err := caddyfile.Tokenize([]byte(input), "Fuzzfile")
		if err != nil {
			return
		}
		var h Handler
		_ = h.UnmarshalCaddyfile(caddyfile.NewDispenser(tokens))
	})
}
