// Command checkout measures what the plugin adds to a checkout: it loads a
// running shop's checkout endpoint with a fixed number of concurrent buyers
// for a fixed time, then sends the same create-payment calls straight to the
// simulator the shop uses, with the same concurrency, and reports both and
// their ratio. Run it against the demo (./xcaddy.sh run, or ./caddy run
// --config examples/Caddyfile):
//
//	go run ./bench/checkout -shop http://localhost:8080 -sim http://127.0.0.1:9190 -c 1,16,64 -d 10s
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/caddy-vipps/caddy-vipps/bench/internal/load"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

func main() {
	shop := flag.String("shop", "http://localhost:8080", "the shop's base URL")
	simURL := flag.String("sim", "http://127.0.0.1:9190", "the simulator the shop uses")
	conc := flag.String("c", "1,16,64", "concurrent buyers, comma-separated")
	dur := flag.Duration("d", 10*time.Second, "duration of each run")
	flag.Parse()

	client := &http.Client{
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{MaxIdleConnsPerHost: 256},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	direct, err := vipps.New(vipps.Config{
		BaseURL: *simURL, ClientID: "bench", ClientSecret: "bench", SubscriptionKey: "bench-key",
		MerchantSerialNumber: "123456", HTTPClient: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}},
		MaxRetries: -1,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	form := url.Values{"sku": {"socks", "mug"}, "qty": {"2", "1"}}.Encode()
	checkout := func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, *shop+"/vipps/checkout", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	create := func(ctx context.Context) error {
		ref := "bench-" + strings.ReplaceAll(uuid.NewString(), "-", "")[:24]
		_, err := direct.CreatePayment(ctx, uuid.NewString(), vipps.CreatePaymentRequest{
			Amount: vipps.Amount{Currency: "NOK", Value: 49700}, PaymentMethod: vipps.PaymentMethod{Type: "WALLET"},
			Reference: ref, UserFlow: "WEB_REDIRECT", ReturnURL: "http://localhost:8080/vipps/return?reference=" + ref,
			PaymentDescription: "2 × Wool socks, 1 × Coffee mug",
		})
		return err
	}
	fmt.Printf("%-8s %-10s %10s %8s %9s %9s %9s %7s\n", "buyers", "path", "req/s", "failed", "p50", "p95", "p99", "ratio")
	for _, f := range strings.Split(*conc, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c < 1 {
			fmt.Fprintln(os.Stderr, "bad -c value", f)
			os.Exit(2)
		}
		base := load.Measure(nil, c, *dur, create)
		plug := load.Measure(nil, c, *dur, checkout)
		for _, row := range []struct {
			name string
			r    load.Result
		}{{"direct", base}, {"plugin", plug}} {
			ratio := row.r.Rate() / base.Rate()
			fmt.Printf("%-8d %-10s %10.1f %8d %9s %9s %9s %7.2f\n", c, row.name, row.r.Rate(), row.r.Failed,
				row.r.Pct(0.5).Round(10*time.Microsecond), row.r.Pct(0.95).Round(10*time.Microsecond), row.r.Pct(0.99).Round(10*time.Microsecond), ratio)
		}
	}
}
