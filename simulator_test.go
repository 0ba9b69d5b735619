package caddyvipps

import (
	"net"
	"testing"
)

// TestSimulatorHost: a simulator on every address is addressed with the
// shop's public host, so that a phone on the network can open its pages;
// one on a given address keeps it.
func TestSimulatorHost(t *testing.T) {
	for _, c := range []struct {
		listen    net.TCPAddr
		publicURL string
		want      string
	}{
		{net.TCPAddr{IP: net.IPv4zero, Port: 9190}, "http://192.168.1.5:8080", "192.168.1.5:9190"},
		{net.TCPAddr{IP: net.IPv6unspecified, Port: 9190}, "http://shop.local", "shop.local:9190"},
		{net.TCPAddr{IP: net.IPv6unspecified, Port: 9190}, "http://[fd00::5]:8080", "[fd00::5]:9190"},
		{net.TCPAddr{IP: net.IPv4zero, Port: 9190}, "", "127.0.0.1:9190"},
		{net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9190}, "http://192.168.1.5:8080", "127.0.0.1:9190"},
		{net.TCPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 9190}, "http://shop.local", "10.0.0.2:9190"},
	} {
		if got := simulatorHost(&c.listen, c.publicURL); got != c.want {
			t.Errorf("simulatorHost(%s, %q) = %q, want %q", c.listen.String(), c.publicURL, got, c.want)
		}
	}
}
