// Command vipps-sim runs the Vipps MobilePay simulator on its own:
//
//	go run ./cmd/vipps-sim -listen 127.0.0.1:9190
//	go run ./cmd/vipps-sim -data-dir /var/lib/vipps-sim -retention 168h
//
// Point a client (or the Caddy module with environment test and api_url) at
// it. The control API under /_sim/ answers clients on a loopback address,
// and others that send "Authorization: Bearer <token>" with the control
// token it prints at start (set VIPPS_SIM_CONTROL_TOKEN to choose it).
// With VIPPS_SIM_CLIENT_ID, VIPPS_SIM_CLIENT_SECRET and
// VIPPS_SIM_SUBSCRIPTION_KEY set it gives access tokens for those
// credentials only (do that when it listens beyond loopback). It is
// described in vipps/sim/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9190", "address to listen on")
	publicURL := flag.String("public-url", "", "external base URL for landing page links (default: http://<listen address>)")
	tokenLifetime := flag.Duration("token-lifetime", time.Hour, "lifetime of access tokens")
	paymentTimeout := flag.Duration("payment-timeout", 10*time.Minute, "time a CREATED payment waits before it EXPIRES")
	retention := flag.Duration("retention", 0, "forget finished payments this long after their last change (0: keep everything)")
	dataDir := flag.String("data-dir", "", "keep the simulator's state in this directory across restarts (default: memory only)")
	debug := flag.Bool("debug", false, "log webhook deliveries and faults")
	flag.Parse()

	cfg := zap.NewProductionConfig()
	if *debug {
		cfg.Level = zap.NewAtomicLevelAt(zap.DebugLevel)
	}
	log, err := cfg.Build()
	if err != nil {
		panic(err)
	}
	defer log.Sync() //nolint:errcheck

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal("listen", zap.Error(err))
	}
	if *publicURL == "" {
		*publicURL = "http://" + ln.Addr().String()
	}
	opts := sim.Options{PublicURL: *publicURL, TokenLifetime: *tokenLifetime, PaymentTimeout: *paymentTimeout,
		Retention: *retention, DataDir: *dataDir, ControlToken: os.Getenv("VIPPS_SIM_CONTROL_TOKEN"), Logger: log}
	creds := sim.Credentials{ClientID: os.Getenv("VIPPS_SIM_CLIENT_ID"), ClientSecret: os.Getenv("VIPPS_SIM_CLIENT_SECRET"),
		SubscriptionKey: os.Getenv("VIPPS_SIM_SUBSCRIPTION_KEY")}
	switch {
	case creds.ClientID != "" && creds.ClientSecret != "" && creds.SubscriptionKey != "":
		opts.Credentials = []sim.Credentials{creds}
	case creds != sim.Credentials{}:
		log.Fatal("set all three of VIPPS_SIM_CLIENT_ID, VIPPS_SIM_CLIENT_SECRET and VIPPS_SIM_SUBSCRIPTION_KEY, or none")
	case !isLoopback(ln.Addr()):
		log.Warn("the simulated Vipps API is open to the network and gives access tokens for any credentials; set VIPPS_SIM_CLIENT_ID, VIPPS_SIM_CLIENT_SECRET and VIPPS_SIM_SUBSCRIPTION_KEY to accept only those",
			zap.String("listen", ln.Addr().String()))
	}
	s, err := sim.Open(opts)
	if err != nil {
		log.Fatal("starting the simulator", zap.Error(err))
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("vipps simulator listening", zap.String("url", *publicURL))
	fmt.Fprintf(os.Stderr, "The control API (%s/_sim/) answers clients on this machine, and others with the header\n"+
		"  Authorization: Bearer %s\n"+
		"e.g. curl -H 'Authorization: Bearer %s' %s/_sim/payments\n", *publicURL, s.ControlToken(), s.ControlToken(), *publicURL)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal("serve", zap.Error(err))
	}
	if err := s.Close(); err != nil {
		log.Error("closing the simulator", zap.Error(err))
	}
}

// isLoopback reports whether the simulator listens on loopback only.
func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
