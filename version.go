package caddyvipps

import (
	"runtime/debug"
	"strings"
)

// Version is this module's version, sent to Vipps in the
// Vipps-System-Plugin-Version header.
var Version = moduleVersion("github.com/caddy-vipps/caddy-vipps", "dev")

func caddyVersion() string {
	return moduleVersion("github.com/caddyserver/caddy/v2", "v2")
}

func moduleVersion(path, fallback string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return fallback
	}
	if info.Main.Path == path && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	for _, d := range info.Deps {
		if d.Path == path && d.Version != "" && d.Version != "(devel)" {
			return strings.TrimPrefix(d.Version, "")
		}
	}
	return fallback
}
