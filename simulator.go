package caddyvipps

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

// simPool keeps the embedded simulator (and its payments) alive across
// config reloads, keyed by listen address.
var simPool = caddy.NewUsagePool()

type embeddedSimulator struct {
	sim    *sim.Simulator
	server *http.Server
	base   string
}

func (e *embeddedSimulator) Destruct() error {
	// Destruct runs inside a config swap: keep it short. Connections still
	// open after a brief grace are closed.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := e.server.Shutdown(ctx); err != nil {
		_ = e.server.Close()
	}
	return e.sim.Close()
}

// acquireSimulator starts (or shares) the simulator listening on addr and
// returns the pool key and its base URL. The simulator that starts keeps its
// payments, webhook registrations and receipts in dataDir, so a restarted
// demo can still ship, cancel and refund its earlier orders.
//
// On all addresses (":9190", "0.0.0.0:9190") its pages are addressed with
// the host of publicURL, so that a phone on the shop's network can open the
// landing page and scan the kiosk's QR code: "http://0.0.0.0:9190" leads a
// phone nowhere.
//
// With creds (simulator_public) the simulator gives access tokens only for
// the credentials of the shops that use it.
func acquireSimulator(addr, dataDir, publicURL string, creds *sim.Credentials, log *zap.Logger) (string, string, error) {
	val, _, err := simPool.LoadOrNew(addr, func() (caddy.Destructor, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("starting the vipps simulator on %s: %w", addr, err)
		}
		base := "http://" + simulatorHost(ln.Addr(), publicURL)
		opts := sim.Options{PublicURL: base, DataDir: dataDir, Logger: log.Named("simulator")}
		if creds != nil {
			opts.Credentials = []sim.Credentials{*creds}
		}
		s, err := sim.Open(opts)
		if err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("starting the vipps simulator: %w", err)
		}
		srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("vipps simulator stopped", zap.Error(err))
			}
		}()
		log.Info("vipps simulator listening", zap.String("url", base), zap.String("data_dir", dataDir))
		return &embeddedSimulator{sim: s, server: srv, base: base}, nil
	})
	if err != nil {
		return "", "", err
	}
	e := val.(*embeddedSimulator)
	if creds != nil {
		e.sim.AllowCredentials(*creds)
	}
	return addr, e.base, nil
}

// simulatorHost is the host:port buyers reach the simulator at: where it
// listens, or, when that is every address, the shop's public host on the
// simulator's port.
func simulatorHost(listen net.Addr, publicURL string) string {
	tcp, ok := listen.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return listen.String()
	}
	host := "127.0.0.1"
	if u, err := url.Parse(publicURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}
