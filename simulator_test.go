package caddyvipps

import (
	"net"
	"strings"
	"testing"

	"github.com/caddy-vipps/caddy-vipps/shop"
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

// TestPublicSimulatorNeedsFlagAndCredentials: a simulator that listens
// beyond loopback is refused unless simulator_public says so, and then only
// with the shop's own credentials, which it alone gets tokens for.
func TestPublicSimulatorNeedsFlagAndCredentials(t *testing.T) {
	dir := t.TempDir()
	creds := func(c ShopConfig) ShopConfig {
		c.ClientID, c.ClientSecret, c.SubscriptionKey = "shop-client", "shop-secret", "shop-key"
		return c
	}
	for _, c := range []struct {
		cfg  ShopConfig
		want string
	}{
		{ShopConfig{SimulatorListen: ":9190"}, "not a loopback address"},
		{ShopConfig{SimulatorListen: "0.0.0.0:9190"}, "not a loopback address"},
		{ShopConfig{SimulatorListen: "192.168.1.5:9190"}, "not a loopback address"},
		{ShopConfig{SimulatorListen: "[::]:9190"}, "not a loopback address"},
		{ShopConfig{SimulatorListen: "shop.local:9190"}, "not a loopback address"},
		{ShopConfig{SimulatorListen: ":9190", SimulatorPublic: true}, "simulator_public needs the shop's own client_id"},
		{ShopConfig{Environment: EnvSimulator, SimulatorListen: ":9190", SimulatorPublic: true, ClientID: "a", ClientSecret: "b"}, "simulator_public needs"},
		{creds(ShopConfig{Environment: EnvSimulator, SimulatorListen: ":9190", SimulatorPublic: true}), ""},
		{ShopConfig{SimulatorListen: "127.0.0.1:9190"}, ""},
		{ShopConfig{SimulatorListen: "localhost:9190"}, ""},
		{ShopConfig{SimulatorListen: "[::1]:9190"}, ""},
		// Outside the simulator the address is not used.
		{creds(ShopConfig{Environment: EnvTest, SimulatorListen: ":9190", MerchantSerialNumber: "123456", PublicURL: "https://shop.example.com"}), ""},
	} {
		c.cfg.DataDir = dir
		c.cfg.Products = []shop.Product{{SKU: "socks", Name: "Socks", Price: 100}}
		_, err := c.cfg.prepare(DefaultShop)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v", c.cfg, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%+v: error %v, want %q", c.cfg, err, c.want)
		}
	}
}
