package sim_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/vipps"
	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

// childDirEnv names the data directory of the simulator that
// TestKilledSimulatorLosesNothingItAnswered runs as a child process.
const childDirEnv = "VIPPS_SIM_TEST_CHILD_DIR"

// TestChildSimulator is the child process: a simulator on a data
// directory, serving until it is killed.
func TestChildSimulator(t *testing.T) {
	dir := os.Getenv(childDirEnv)
	if dir == "" {
		t.Skip("the child process of TestKilledSimulatorLosesNothingItAnswered")
	}
	s, err := sim.Open(sim.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("\nlistening on %s\n", ln.Addr())
	_ = http.Serve(ln, s)
}

// TestKilledSimulatorLosesNothingItAnswered: a simulator killed with
// SIGKILL while clients create, approve, capture, refund and cancel keeps
// every change it answered.
func TestKilledSimulatorLosesNothingItAnswered(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildSimulator$", "-test.v")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	addr := ""
	sc := bufio.NewScanner(out)
	for addr == "" && sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
			addr = a
		}
	}
	if addr == "" {
		t.Fatal("the child did not start")
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	base := "http://" + addr
	c, err := vipps.New(vipps.Config{BaseURL: base, ClientID: "id", ClientSecret: "secret", SubscriptionKey: "sub-key",
		MerchantSerialNumber: "123456", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	nok := func(v int64) vipps.Amount { return vipps.Amount{Currency: "NOK", Value: v} }

	// Each worker takes payments through create, approve, capture,
	// refund and (every other one) cancel, noting each step answered.
	var mu sync.Mutex
	answered := map[string]int{} // reference → steps answered
	cancels := map[string]bool{} // references whose fifth step is a cancel
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				ref := fmt.Sprintf("kill-%d-%06d", w, i)
				mu.Lock()
				cancels[ref] = i%2 == 0
				mu.Unlock()
				steps := []func() error{
					func() error { _, err := c.CreatePayment(ctx, "k-"+ref, validCreate(ref)); return err },
					func() error {
						resp, err := http.Post(base+"/_sim/payments/"+ref+"/approve", "", nil)
						if err == nil {
							resp.Body.Close()
							if resp.StatusCode != http.StatusOK {
								err = fmt.Errorf("approve: %d", resp.StatusCode)
							}
						}
						return err
					},
					func() error { _, err := c.CapturePayment(ctx, ref, "c-"+ref, nok(20000)); return err },
					func() error { _, err := c.RefundPayment(ctx, ref, "r-"+ref, nok(5000)); return err },
					func() error {
						if i%2 == 0 {
							_, err := c.CancelPayment(ctx, ref, "x-"+ref, false)
							return err
						}
						return nil
					},
				}
				for n, step := range steps {
					if step() != nil {
						return // the child is gone
					}
					mu.Lock()
					answered[ref] = n + 1
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	if err := cmd.Process.Kill(); err != nil { // SIGKILL, with requests in flight
		t.Fatal(err)
	}
	stop()
	wg.Wait()
	_ = cmd.Wait()

	s, err := sim.Open(sim.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(answered) < 8 {
		t.Fatalf("only %d payments were made before the kill", len(answered))
	}
	for ref, steps := range answered {
		p, ok := s.Payment(ref)
		if !ok {
			t.Fatalf("%s: created and answered, but gone after the kill", ref)
		}
		a := p.Aggregate
		if steps >= 2 && p.State != vipps.StateAuthorized {
			t.Errorf("%s: approved, but %s after the kill", ref, p.State)
		}
		if steps >= 3 && a.CapturedAmount.Value != 20000 {
			t.Errorf("%s: captured, but %d after the kill", ref, a.CapturedAmount.Value)
		}
		if steps >= 4 && a.RefundedAmount.Value != 5000 {
			t.Errorf("%s: refunded, but %d after the kill", ref, a.RefundedAmount.Value)
		}
		if steps >= 5 && cancels[ref] && a.CancelledAmount.Value != 29900 {
			t.Errorf("%s: cancelled, but %d after the kill", ref, a.CancelledAmount.Value)
		}
	}
	t.Logf("%d payments answered before the kill, none lost", len(answered))
}
