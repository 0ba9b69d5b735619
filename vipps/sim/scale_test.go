package sim_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/vipps"
	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

// advance moves the simulator's clock with the control API, which does what
// fell due before it answers.
func (e *env) advance(t *testing.T, d time.Duration) {
	t.Helper()
	if status, body := e.raw(t, http.MethodPost, "/_sim/clock/advance", fmt.Sprintf(`{"duration":%q}`, d.String()), nil); status != http.StatusOK {
		t.Fatalf("advance: %d %s", status, body)
	}
}

// TestExpiryFollowsTheClockExactly: each waiting payment expires when the
// simulator's clock reaches its own deadline (ten minutes, or expiresAt),
// not earlier and not at the next request for it.
func TestExpiryFollowsTheClockExactly(t *testing.T) {
	e := newEnv(t)
	t0 := e.clock.Now()
	e.create(t, validCreate("expiry-a-0001"))
	e.advance(t, 2*time.Minute)
	e.create(t, validCreate("expiry-b-0001"))
	e.advance(t, 2*time.Minute)
	e.create(t, validCreate("expiry-c-0001"))
	long := validCreate("expiry-d-0001")
	at := t0.Add(34 * time.Minute)
	rate := 2500
	long.ExpiresAt = &at
	long.Receipt = &vipps.Receipt{OrderLines: []vipps.OrderLine{{Name: "Socks", ID: "socks", TotalAmount: 49900, TotalAmountExcludingTax: 39920, TotalTaxAmount: 9980, TaxRate: &rate}},
		BottomLine: vipps.BottomLine{Currency: "NOK"}}
	e.create(t, long)

	steps := []struct {
		to      time.Duration
		waiting int
	}{
		{10*time.Minute - time.Second, 4},
		{10 * time.Minute, 3},
		{12*time.Minute - time.Second, 3},
		{12 * time.Minute, 2},
		{14 * time.Minute, 1},
		{34*time.Minute - time.Second, 1},
		{34 * time.Minute, 0},
	}
	for _, st := range steps {
		e.advance(t, t0.Add(st.to).Sub(e.clock.Now()))
		if got := e.sim.Stats().Waiting; got != st.waiting {
			t.Fatalf("at +%s: %d payments waiting, want %d", st.to, got, st.waiting)
		}
	}
	for ref, deadline := range map[string]time.Time{"expiry-a-0001": t0.Add(10 * time.Minute), "expiry-d-0001": at} {
		p, _ := e.sim.Payment(ref)
		last := p.Events[len(p.Events)-1]
		if p.State != vipps.StateExpired || last.Name != vipps.EventExpired || !last.Timestamp.Equal(deadline) || len(p.Events) != 2 {
			t.Fatalf("%s: state %s, events %+v; want one EXPIRED at %s", ref, p.State, p.Events, deadline)
		}
	}
}

// TestAdvanceExpiresEverythingDue: one clock advance that makes more
// payments due than one hold of the lock handles still expires them all
// before it answers.
func TestAdvanceExpiresEverythingDue(t *testing.T) {
	e := newEnv(t)
	const n = 1100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				ref := fmt.Sprintf("many-%08d", i)
				if _, err := e.client.CreatePayment(context.Background(), ref, validCreate(ref)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if st := e.sim.Stats(); st.Waiting != n {
		t.Fatalf("%d waiting, want %d", st.Waiting, n)
	}
	e.advance(t, 11*time.Minute)
	if st := e.sim.Stats(); st.Waiting != 0 || st.Payments != n {
		t.Fatalf("after the advance: %+v", st)
	}
}

// TestControlFindsAReferenceInAnySalesUnit: the control API looks a
// reference up in every sales unit and takes the payment made first.
func TestControlFindsAReferenceInAnySalesUnit(t *testing.T) {
	e := newEnv(t)
	other, err := vipps.New(vipps.Config{BaseURL: e.srv.URL, ClientID: "id", ClientSecret: "secret", SubscriptionKey: "sub-key-2",
		MerchantSerialNumber: "654321"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.CreatePayment(context.Background(), "k", validCreate("shared-ref-0001")); err != nil {
		t.Fatal(err)
	}
	e.create(t, validCreate("shared-ref-0001"))
	if p, ok := e.sim.Payment("shared-ref-0001"); !ok || p.MSN != "654321" {
		t.Fatalf("found %+v %v, want the 654321 payment made first", p, ok)
	}
	if err := e.sim.Approve("shared-ref-0001"); err != nil {
		t.Fatal(err)
	}
	if p := e.get(t, "shared-ref-0001"); p.State != vipps.StateCreated {
		t.Fatalf("the 123456 payment is %s; the approval was for 654321's", p.State)
	}
	all := e.sim.Payments()
	if len(all) != 2 || all[0].MSN != "654321" || all[1].MSN != "123456" {
		t.Fatalf("payments not in creation order: %+v", all)
	}
}

// TestExpiredAccessTokensAreDropped: a token is forgotten once it expires,
// so a long run does not collect them.
func TestExpiredAccessTokensAreDropped(t *testing.T) {
	e := newEnvWith(t, sim.Options{TokenLifetime: time.Hour})
	if _, err := e.client.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := e.sim.Stats().AccessTokens; n != 1 {
		t.Fatalf("%d tokens", n)
	}
	e.sim.Advance(time.Hour)
	if n := e.sim.Stats().AccessTokens; n != 0 {
		t.Fatalf("%d tokens kept after they expired", n)
	}
}
