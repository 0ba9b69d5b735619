package caddyvipps

import (
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// derivePublicURL finds the first site (by server name) that serves a shop
// and makes its address a URL: https when the server speaks TLS, the host
// of the site's host matcher (localhost when it has none, as for ":8080"),
// and the port unless it is the scheme's. It is used in the simulator only,
// where the shop, its buyers and the simulator share one machine.
func (a *App) derivePublicURL(e *shopEntry) (string, bool) {
	appAny, err := a.ctx.AppIfConfigured("http")
	if err != nil {
		return "http://localhost", false
	}
	httpApp, ok := appAny.(*caddyhttp.App)
	if !ok {
		return "http://localhost", false
	}
	for _, name := range slices.Sorted(maps.Keys(httpApp.Servers)) {
		srv := httpApp.Servers[name]
		host, found := findShop(srv.Routes, e, "")
		if !found {
			continue
		}
		return siteURL(srv, host), true
	}
	return "http://localhost", false
}

// findShop walks routes (into subroutes) for a handler that serves the
// shop, and returns the host of the innermost host matcher on the way.
func findShop(routes caddyhttp.RouteList, e *shopEntry, host string) (string, bool) {
	for _, rt := range routes {
		h := host
		if m := hostOf(rt.MatcherSets); m != "" {
			h = m
		}
		for _, mh := range rt.Handlers {
			switch v := mh.(type) {
			case *Handler:
				if v.entry == e {
					return h, true
				}
			case *caddyhttp.Subroute:
				if found, ok := findShop(v.Routes, e, h); ok {
					return found, true
				}
			}
		}
	}
	return "", false
}

// hostOf returns the first plain host name a route matches, if any.
func hostOf(sets caddyhttp.MatcherSets) string {
	for _, set := range sets {
		for _, m := range set {
			var hosts []string
			switch v := m.(type) {
			case caddyhttp.MatchHost:
				hosts = v
			case *caddyhttp.MatchHost:
				hosts = *v
			}
			for _, h := range hosts {
				if h != "" && !strings.ContainsAny(h, "*{") {
					return h
				}
			}
		}
	}
	return ""
}

// siteURL is a server's URL for a host.
func siteURL(srv *caddyhttp.Server, host string) string {
	scheme := "http"
	if len(srv.TLSConnPolicies) > 0 {
		scheme = "https"
	}
	if host == "" {
		host = "localhost"
	}
	port := ""
	for _, l := range srv.Listen {
		na, err := caddy.ParseNetworkAddress(l)
		if err != nil || na.IsUnixNetwork() || na.IsFdNetwork() {
			continue
		}
		port = strconv.FormatUint(uint64(na.StartPort), 10)
		break
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	}
	return scheme + "://" + host
}
