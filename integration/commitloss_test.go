package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/caddy-vipps/caddy-vipps/internal/pgproxy"
)

// The commit-loss scenario's sizes.
const (
	commitLossOrders  = 150
	commitLossCutRate = 0.15
	// A client that has no definite answer after this long reports it,
	// and so does the wait for the shop to settle with Vipps. (On a shop
	// that keeps its contract a client needs well under a minute.)
	commitLossPatience = 150 * time.Second
	// In each ship phase, the first commitLossBlackouts cuts also black
	// out the database for commitLossBlackout: longer than the shop may
	// keep a request waiting to ask whether a lost commit was applied, so
	// that it truly cannot know and must say so.
	commitLossBlackouts = 2
	commitLossBlackout  = 12 * time.Second
)

// TestCommitLossOnPostgres is the black-box test of the merchant API's
// contract when the database loses answers: a shop on PostgreSQL through
// a proxy that lets 15 % of COMMITs reach the server and cuts the
// connection before their answer (applied, but the shop cannot know), and
// the embedded simulator as Vipps. In each ship phase the first two cuts
// also black out the database for 12 s, so that the shop cannot even ask
// whether its commit was applied.
//
// 150 orders are checked out and approved (a buyer whose checkout fails
// with 503 checks out again). Each is shipped for half its amount by a
// merchant's client that retries until it has a definite answer: half the
// orders with one that resends the same Idempotency-Key (on 5xx, a network
// error, or 409 "in progress", after Retry-After), half with one that sends
// a new key each time: it believes an answer that says "Nothing was
// charged" and sends again, as that answer invites, and after any other
// failure looks at the order before sending again (waits while an
// operation is pending; stops when half is captured). A 202 is followed on
// the order until its operation is settled. Then, at Vipps,
// exactly half of each order is captured, no Idempotency-Key twice, and the
// shop's view agrees; then the rest ships and each order is captured in
// full. No answer says "Nothing was charged" for a request whose capture
// was recorded, and Caddy's log has no panic.
func TestCommitLossOnPostgres(t *testing.T) {
	pg := startPostgres(t)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("VIPPS_COMMITLOSS_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("VIPPS_COMMITLOSS_SEED: %v", err)
		}
	}
	t.Logf("seed %d (VIPPS_COMMITLOSS_SEED=%d repeats the choice of COMMITs to cut, as far as their order repeats)", seed, seed)
	proxy, err := pgproxy.Start(pgproxy.Options{Target: fmt.Sprintf("127.0.0.1:%d", pg.Port()), Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	dsn, err := proxy.DSN(pg.DSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("VIPPS_TEST_DATABASE_URL", dsn)
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	// The shop starts with every COMMIT answered (its schema is made at
	// start); the cuts begin once it runs.
	startShop(t, shopConfig{
		Extra:  "store postgres {env.VIPPS_TEST_DATABASE_URL}\n\t\ttimeout 5s",
		Global: "log {\n\t\toutput file " + logFile + "\n\t}",
	})
	proxy.SetCutRate(commitLossCutRate)
	started := time.Now()

	c := &lossClient{t: t, http: &http.Client{
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}

	orders := c.buyAll(commitLossOrders)
	if t.Failed() {
		t.FailNow()
	}
	stored, payments := c.unacknowledged(orders)
	t.Logf("checkout: %d orders approved in %s; %d checkouts sent, answered %s; %d orders stored and %d payments made at vipps for checkouts answered with an error",
		len(orders), time.Since(started).Round(time.Second), c.checkouts.Load(), c.seen.take(), stored, payments)

	for phase, want := range []func(o *lossOrder) int64{
		func(o *lossOrder) int64 { return o.amount / 2 },
		func(o *lossOrder) int64 { return o.amount },
	} {
		began := time.Now()
		proxy.BlackoutAfterCuts(commitLossBlackouts, commitLossBlackout)
		c.shipAll(orders, phase+1, want)
		proxy.BlackoutAfterCuts(0, 0)
		c.settled(orders)
		c.checkVipps(orders, want)
		t.Logf("ship %d took %s", phase+1, time.Since(began).Round(time.Second))
	}

	logged, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	lines, errorLines := 0, 0
	for line := range strings.Lines(string(logged)) {
		lines++
		if strings.Contains(line, `"level":"error"`) {
			errorLines++
		}
		if strings.Contains(strings.ToLower(line), "panic") {
			t.Errorf("Caddy's log has a panic: %s", line)
		}
	}
	if lines == 0 {
		t.Error("Caddy's log is empty: the check for panics saw nothing")
	}
	var total int64
	sameKey := 0
	for _, o := range orders {
		total += o.amount
		if o.sameKey {
			sameKey++
		}
	}
	s := proxy.Stats()
	t.Logf("orders %d (same key %d, new keys %d); COMMITs cut %d (%d of them followed by a blackout of %s), passed %d; captured at vipps %d of %d, orders captured more than asked %d, less %d; Caddy's log %d lines, %d errors; %s",
		len(orders), sameKey, len(orders)-sameKey, s.Cut, s.Blackouts, commitLossBlackout, s.Passed, c.capturedTotal, total, c.doubled, c.short, lines, errorLines, time.Since(started).Round(time.Second))
}

// unacknowledged counts the orders the shop stored, and the payments Vipps
// holds, beyond the checkouts that were answered 303.
func (c *lossClient) unacknowledged(orders []*lossOrder) (stored, payments int) {
	acked := map[string]bool{}
	for _, o := range orders {
		acked[o.ref] = true
	}
	deadline := time.Now().Add(time.Minute)
	for cursor := ""; ; {
		a := c.send(http.MethodGet, shopURL+"/vipps/orders?limit=500&cursor="+url.QueryEscape(cursor), "", "Authorization", "Bearer "+adminToken, "Accept", "application/json")
		if a.err != nil || a.status != http.StatusOK {
			if time.Now().After(deadline) {
				c.t.Errorf("listing the orders: %d %v %s", a.status, a.err, a.body)
				return
			}
			time.Sleep(a.retryAfter())
			continue
		}
		var page struct {
			Orders []struct{ Reference string } `json:"orders"`
			Next   string                       `json:"next"`
		}
		if err := json.Unmarshal(a.body, &page); err != nil {
			c.t.Errorf("the order list: %v", err)
			return
		}
		for _, o := range page.Orders {
			if !acked[o.Reference] {
				stored++
			}
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	a := c.send(http.MethodGet, simURL+"/_sim/payments", "")
	var list []struct{ Reference string }
	if a.err != nil || a.status != http.StatusOK || json.Unmarshal(a.body, &list) != nil {
		c.t.Errorf("the simulator's payments: %d %v", a.status, a.err)
		return
	}
	for _, p := range list {
		if !acked[p.Reference] {
			payments++
		}
	}
	return stored, payments
}

// lossOrder is one order of the scenario.
type lossOrder struct {
	ref     string
	amount  int64
	sameKey bool // shipped by the client that resends its Idempotency-Key
	// began and trace are the current phase's start and its answers.
	began time.Time
	trace []traced
}

// lossClient is the buyers and the merchant's clients of the scenario.
// Its methods run in goroutines: they report with t.Errorf, never stop the
// test.
type lossClient struct {
	t             *testing.T
	http          *http.Client
	checkouts     atomic.Int64
	seen          tally
	capturedTotal int64 // at Vipps, at the last check
	doubled       int   // orders found with more captured than asked, over all checks
	short         int   // orders found with less
}

// answer is one HTTP exchange.
type answer struct {
	status int
	body   []byte
	header http.Header
	err    error
}

// title is a problem+json answer's title.
func (a answer) title() string {
	var p struct{ Title string }
	_ = json.Unmarshal(a.body, &p)
	return p.Title
}

// kind names an answer for the tallies: the status, and the title of a 409.
func (a answer) kind() string {
	switch {
	case a.err != nil:
		return "network error"
	case a.status == http.StatusConflict:
		return "409 " + a.title()
	}
	return strconv.Itoa(a.status)
}

// retryAfter is how long the answer asks to wait, at most 5s; 1s if it
// does not say.
func (a answer) retryAfter() time.Duration {
	if a.header != nil {
		if s, err := strconv.Atoi(a.header.Get("Retry-After")); err == nil && s >= 0 {
			return min(time.Duration(s)*time.Second, 5*time.Second)
		}
	}
	return time.Second
}

func (c *lossClient) send(method, u, body string, header ...string) answer {
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: b, header: resp.Header, err: err}
}

// tally counts answers by kind.
type tally struct {
	mu sync.Mutex
	n  map[string]int
}

func (t *tally) add(kind string) {
	t.mu.Lock()
	if t.n == nil {
		t.n = map[string]int{}
	}
	t.n[kind]++
	t.mu.Unlock()
}

// take returns the counts as text and starts again.
func (t *tally) take() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(t.n)) {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, t.n[k]))
	}
	t.n = nil
	return strings.Join(parts, ", ")
}

// parallel runs fn for each order, n at a time.
func parallel[T any](items []T, n int, fn func(i int, item T)) {
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, item := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i, item)
		}()
	}
	wg.Wait()
}

// The carts of the scenario; each total is even, so half is a whole amount.
var lossCarts = []struct {
	form   string
	amount int64
}{
	{"sku=mug&qty=1", 19900},
	{"sku=socks&qty=2&sku=mug&qty=1", 49700},
	{"sku=book&qty=1", 34900},
	{"sku=socks&qty=1", 14900},
}

// buyAll checks out and approves n orders as buyers would: a checkout that
// fails is made again (a new order), the buyer approves in the app (the
// simulator's control API) and comes back to the shop; each order is
// awaited until the shop has it authorized.
func (c *lossClient) buyAll(n int) []*lossOrder {
	orders := make([]*lossOrder, n)
	parallel(orders, 12, func(i int, _ *lossOrder) {
		cart := lossCarts[i%len(lossCarts)]
		deadline := time.Now().Add(commitLossPatience)
		var ref string
		for ref == "" {
			if time.Now().After(deadline) {
				c.t.Errorf("buyer %d: no checkout went through", i)
				return
			}
			c.checkouts.Add(1)
			a := c.send(http.MethodPost, shopURL+"/vipps/checkout", cart.form, "Content-Type", "application/x-www-form-urlencoded")
			c.seen.add(a.kind())
			switch {
			case a.err == nil && a.status == http.StatusSeeOther:
				ref = a.header.Get("X-Vipps-Reference")
			case a.err != nil || a.status >= 500:
				time.Sleep(a.retryAfter())
			default:
				c.t.Errorf("buyer %d: checkout answered %d %s", i, a.status, a.body)
				return
			}
		}
		if a := c.send(http.MethodPost, simURL+"/_sim/payments/"+ref+"/approve", ""); a.err != nil || a.status != http.StatusOK {
			c.t.Errorf("%s: approving at vipps: %d %v %s", ref, a.status, a.err, a.body)
			return
		}
		for {
			a := c.send(http.MethodGet, shopURL+"/vipps/return?reference="+ref, "")
			if a.err == nil && a.status < 500 {
				break
			}
			if time.Now().After(deadline) {
				c.t.Errorf("%s: the buyer's return keeps failing: %d %v", ref, a.status, a.err)
				return
			}
			time.Sleep(a.retryAfter())
		}
		for {
			o, ok := c.look(ref, deadline)
			if !ok {
				return
			}
			if o.Payment.Authorized == cart.amount {
				break
			}
			if time.Now().After(deadline) {
				c.t.Errorf("%s: never authorized at the shop: %+v", ref, o)
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		orders[i] = &lossOrder{ref: ref, amount: cart.amount, sameKey: i%2 == 0}
	})
	return slices.DeleteFunc(orders, func(o *lossOrder) bool { return o == nil })
}

// lossView is an order as the merchant's GET shows it.
type lossView struct {
	Status  string `json:"status"`
	Payment struct {
		Authorized int64 `json:"authorized"`
		Captured   int64 `json:"captured"`
	} `json:"payment"`
	Operations []struct {
		ID     string `json:"id"`
		Kind   string `json:"kind"`
		Amount int64  `json:"amount"`
		Status string `json:"status"`
	} `json:"operations"`
}

// pending reports whether an operation is still open.
func (v lossView) pending() bool {
	for _, op := range v.Operations {
		if op.Status == "pending" {
			return true
		}
	}
	return false
}

// captures counts the capture operations that did or will move money:
// pending or done.
func (v lossView) captures() int {
	n := 0
	for _, op := range v.Operations {
		if op.Kind == "capture" && op.Status != "failed" {
			n++
		}
	}
	return n
}

func (v lossView) op(id string) string {
	for _, op := range v.Operations {
		if op.ID == id {
			return op.Status
		}
	}
	return ""
}

// look reads the order as the merchant, asking again while the shop
// cannot answer.
func (c *lossClient) look(ref string, deadline time.Time) (lossView, bool) {
	for {
		a := c.send(http.MethodGet, shopURL+"/vipps/orders/"+ref, "", "Authorization", "Bearer "+adminToken, "Accept", "application/json")
		if a.err == nil && a.status == http.StatusOK {
			var v lossView
			if err := json.Unmarshal(a.body, &v); err != nil {
				c.t.Errorf("%s: the order's JSON: %v: %s", ref, err, a.body)
				return v, false
			}
			return v, true
		}
		if a.err == nil && a.status < 500 {
			c.t.Errorf("%s: reading the order: %d %s", ref, a.status, a.body)
			return lossView{}, false
		}
		if time.Now().After(deadline) {
			c.t.Errorf("%s: the order cannot be read: %d %v", ref, a.status, a.err)
			return lossView{}, false
		}
		time.Sleep(a.retryAfter())
	}
}

// shipStats are one phase's figures.
type shipStats struct {
	sends, retries, lookups atomic.Int64
	// believed counts requests sent again with a new key, without a look,
	// on the word of an answer that said nothing was charged;
	// falseClaims such answers proved wrong.
	believed, falseClaims atomic.Int64
	seen                  tally
	outcomes              tally
}

// shipAll ships half of each order, with the order's kind of client, which
// stops looking when want(o) is captured.
func (c *lossClient) shipAll(orders []*lossOrder, phase int, want func(*lossOrder) int64) {
	var st shipStats
	began := time.Now()
	took := make([]time.Duration, len(orders))
	parallel(orders, 50, func(i int, o *lossOrder) {
		start := time.Now()
		o.began, o.trace = start, nil
		if o.sameKey {
			c.shipSameKey(o, phase, o.amount/2, &st)
		} else {
			c.shipNewKey(o, o.amount/2, want(o), &st)
		}
		took[i] = time.Since(start)
	})
	slowest := orders[0]
	longest := took[0]
	for i, o := range orders {
		if took[i] > longest {
			longest, slowest = took[i], o
		}
	}
	slices.Sort(took)
	c.t.Logf("ship %d: every client had its answer after %s; a client took %s at the median, %s at most (%s, %s: %s)",
		phase, time.Since(began).Round(time.Second), took[len(took)/2].Round(100*time.Millisecond), longest.Round(100*time.Millisecond),
		slowest.ref, slowest.client(), slowest.traceText())
	c.t.Logf("ship %d: %d requests (%d retries, %d of them sent again on the word \"Nothing was charged\"; %d looks at the order); answered %s; outcomes %s; %d answers said \"Nothing was charged\" for a capture that was recorded",
		phase, st.sends.Load(), st.retries.Load(), st.believed.Load(), st.lookups.Load(), st.seen.take(), st.outcomes.take(), st.falseClaims.Load())
}

func (c *lossClient) ship(o *lossOrder, amount int64, key string, st *shipStats) answer {
	st.sends.Add(1)
	a := c.send(http.MethodPost, shopURL+"/vipps/orders/"+o.ref+"/ship", fmt.Sprintf(`{"amount": %d}`, amount),
		"Authorization", "Bearer "+adminToken, "Content-Type", "application/json", "Accept", "application/json", "Idempotency-Key", key)
	st.seen.add(a.kind())
	o.note(a.kind())
	return a
}

// note adds an answer to the order's trace of this phase, folding repeats.
func (o *lossOrder) note(kind string) {
	if n := len(o.trace); n > 0 && o.trace[n-1].kind == kind {
		o.trace[n-1].count++
		return
	}
	o.trace = append(o.trace, traced{at: time.Since(o.began), kind: kind, count: 1})
}

// traced is a run of equal answers.
type traced struct {
	at    time.Duration
	kind  string
	count int
}

func (o *lossOrder) traceText() string {
	var parts []string
	for _, e := range o.trace {
		parts = append(parts, fmt.Sprintf("%s %s ×%d", e.at.Round(100*time.Millisecond), e.kind, e.count))
	}
	return strings.Join(parts, "; ")
}

// inProgress is a 409 that refuses for now (the same key's first request,
// or another operation, still running), as opposed to a 409 of the order's
// amounts, which is an answer.
func inProgress(a answer) bool {
	return a.err == nil && a.status == http.StatusConflict && strings.Contains(strings.ToLower(a.title()), "in progress")
}

// referee holds the shop's answers about one order to what the order
// then shows: an answer that says "Nothing was charged" is false when a
// capture was recorded since the referee last looked (before the
// request). The clients do not see what the referee sees.
type referee struct {
	c        *lossClient
	ref      string
	captures int
	wrong    *atomic.Int64
}

func (c *lossClient) referee(ref string, deadline time.Time, st *shipStats) *referee {
	r := &referee{c: c, ref: ref, wrong: &st.falseClaims}
	if v, ok := c.look(ref, deadline); ok {
		r.captures = v.captures()
	}
	return r
}

// saysNothingCharged reports whether an answer states that nothing was
// charged.
func saysNothingCharged(a answer) bool {
	return a.err == nil && a.status >= 400 && strings.Contains(strings.ToLower(string(a.body)), "nothing was charged")
}

// check looks at the order after an answer that is not a success.
func (r *referee) check(a answer, deadline time.Time) {
	v, ok := r.c.look(r.ref, deadline)
	if !ok {
		return
	}
	if saysNothingCharged(a) && v.captures() > r.captures {
		r.wrong.Add(1)
		r.c.t.Errorf("%s: answered %d %q, and the capture it asked for is recorded (%d capture operations, %d before it)",
			r.ref, a.status, a.body, v.captures(), r.captures)
	}
	r.captures = v.captures()
}

// awaitOperation follows a 202 on the order until its operation is
// settled, and returns the operation's status.
func (c *lossClient) awaitOperation(ref string, a answer, deadline time.Time, st *shipStats) string {
	var body struct {
		Operation struct{ ID string } `json:"operation"`
	}
	if err := json.Unmarshal(a.body, &body); err != nil || body.Operation.ID == "" {
		c.t.Errorf("%s: a 202 without its operation: %s", ref, a.body)
		return ""
	}
	for {
		st.lookups.Add(1)
		v, ok := c.look(ref, deadline)
		if !ok {
			return ""
		}
		if s := v.op(body.Operation.ID); s != "pending" {
			return s
		}
		if time.Now().After(deadline) {
			c.t.Errorf("%s: operation %s still pending", ref, body.Operation.ID)
			return ""
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// shipSameKey is an ERP that keeps its Idempotency-Key until it has an
// answer: on 5xx, a network error or a 409 "in progress" it sends the same
// request again after Retry-After.
func (c *lossClient) shipSameKey(o *lossOrder, phase int, amount int64, st *shipStats) {
	deadline := time.Now().Add(commitLossPatience)
	key := fmt.Sprintf("ship-%d-%s", phase, o.ref)
	ref := c.referee(o.ref, deadline, st)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			st.retries.Add(1)
		}
		if time.Now().After(deadline) {
			c.t.Errorf("%s: no definite answer to the ship (same key) in %s", o.ref, commitLossPatience)
			return
		}
		a := c.ship(o, amount, key, st)
		switch {
		case a.err == nil && a.status == http.StatusOK:
			st.outcomes.add("200")
			return
		case a.err == nil && a.status == http.StatusAccepted:
			st.outcomes.add("202, then " + c.awaitOperation(o.ref, a, deadline, st))
			return
		case a.err != nil || a.status >= 500 || inProgress(a):
			ref.check(a, deadline)
			time.Sleep(a.retryAfter())
		default:
			// A definite refusal: the sums at Vipps tell whether it was right.
			st.outcomes.add(a.kind())
			if a.status != http.StatusConflict {
				c.t.Errorf("%s: ship with key %s answered %d %s", o.ref, key, a.status, a.body)
			}
			return
		}
	}
}

// shipNewKey is a client that sends a new Idempotency-Key each time. It
// believes what the shop says: after an answer that states "Nothing was
// charged" it sends the request again with a new key (after Retry-After,
// and again after a 409 "in progress"), as that message invites. After
// any other failure — a network error, a 5xx that does not say so, an
// outcome not known — it looks at the order before sending again, as the
// contract asks: while an operation is pending it waits; when the order
// already has what it wants captured it stops.
func (c *lossClient) shipNewKey(o *lossOrder, amount, target int64, st *shipStats) {
	deadline := time.Now().Add(commitLossPatience)
	ref := c.referee(o.ref, deadline, st)
	toldNothing := false // the last failure said that nothing was charged
	for attempt := 0; ; attempt++ {
		if attempt > 0 && toldNothing {
			st.retries.Add(1)
			st.believed.Add(1)
		} else if attempt > 0 {
			st.retries.Add(1)
			var v lossView
			for {
				st.lookups.Add(1)
				var ok bool
				if v, ok = c.look(o.ref, deadline); !ok {
					return
				}
				if !v.pending() {
					break
				}
				if time.Now().After(deadline) {
					c.t.Errorf("%s: an operation stays pending", o.ref)
					return
				}
				time.Sleep(500 * time.Millisecond)
			}
			if v.Payment.Captured >= target {
				st.outcomes.add("found captured")
				return
			}
		}
		if time.Now().After(deadline) {
			c.t.Errorf("%s: no definite answer to the ship (new keys) in %s", o.ref, commitLossPatience)
			return
		}
		a := c.ship(o, amount, uuid.NewString(), st)
		switch {
		case a.err == nil && a.status == http.StatusOK:
			st.outcomes.add("200")
			return
		case a.err == nil && a.status == http.StatusAccepted:
			if s := c.awaitOperation(o.ref, a, deadline, st); s != "failed" {
				st.outcomes.add("202, then " + s)
				return
			}
			toldNothing = false
		case inProgress(a):
			// Refused for now; what the client was told before stands.
			time.Sleep(a.retryAfter())
		case a.err != nil || a.status >= 500:
			ref.check(a, deadline)
			toldNothing = saysNothingCharged(a)
			time.Sleep(a.retryAfter())
		default:
			st.outcomes.add(a.kind())
			if a.status != http.StatusConflict {
				c.t.Errorf("%s: ship answered %d %s", o.ref, a.status, a.body)
			}
			return
		}
	}
}

// settled waits until no order has an operation pending and the shop's
// view of each order's captured amount is what Vipps holds.
func (c *lossClient) settled(orders []*lossOrder) {
	deadline := time.Now().Add(commitLossPatience)
	for {
		open := ""
		for _, o := range orders {
			v, ok := c.look(o.ref, deadline)
			if !ok {
				return
			}
			p, ok := c.payment(o.ref)
			if !ok {
				return
			}
			if v.pending() || v.Payment.Captured != p.Aggregate.CapturedAmount.Value {
				open = fmt.Sprintf("%s: shop %+v, vipps captured %d", o.ref, v, p.Aggregate.CapturedAmount.Value)
				break
			}
		}
		if open == "" {
			return
		}
		if time.Now().After(deadline) {
			c.t.Errorf("the shop did not settle with vipps: %s", open)
			return
		}
		time.Sleep(time.Second)
	}
}

// lossPayment is a payment as the simulator's control API shows it.
type lossPayment struct {
	Aggregate struct {
		CapturedAmount struct{ Value int64 } `json:"capturedAmount"`
	} `json:"aggregate"`
	Events []struct {
		Name           string `json:"name"`
		Amount         struct{ Value int64 }
		IdempotencyKey string `json:"idempotencyKey"`
	} `json:"events"`
}

func (c *lossClient) payment(ref string) (lossPayment, bool) {
	a := c.send(http.MethodGet, simURL+"/_sim/payments/"+url.PathEscape(ref), "")
	var p lossPayment
	if a.err != nil || a.status != http.StatusOK || json.Unmarshal(a.body, &p) != nil {
		c.t.Errorf("%s: the simulator's payment: %d %v %s", ref, a.status, a.err, a.body)
		return p, false
	}
	return p, true
}

// checkVipps holds Vipps' ledger to what was asked: each order captured
// exactly want(o), by captures that add up to it, and no Idempotency-Key
// applied twice.
func (c *lossClient) checkVipps(orders []*lossOrder, want func(*lossOrder) int64) {
	var captured, doubled, short, events int64
	for _, o := range orders {
		p, ok := c.payment(o.ref)
		if !ok {
			return
		}
		var sum int64
		n := 0
		keys := map[string]int{}
		for _, e := range p.Events {
			// The authorization is the buyer's, recorded under the
			// create's key; every other event is one call applied.
			if e.IdempotencyKey != "" && e.Name != "AUTHORIZED" {
				keys[e.IdempotencyKey]++
				if keys[e.IdempotencyKey] == 2 {
					c.t.Errorf("%s: idempotency key %s applied twice at vipps: %+v", o.ref, e.IdempotencyKey, p.Events)
				}
			}
			if e.Name == "CAPTURED" {
				sum += e.Amount.Value
				n++
			}
		}
		got := p.Aggregate.CapturedAmount.Value
		captured += got
		events += int64(n)
		switch {
		case got > want(o):
			doubled++
			c.t.Errorf("%s: vipps captured %d in %d captures, %d asked for (order of %d, %s)", o.ref, got, n, want(o), o.amount, o.client())
		case got < want(o):
			short++
			c.t.Errorf("%s: vipps captured %d, %d asked for (order of %d, %s)", o.ref, got, want(o), o.amount, o.client())
		}
		if sum != got {
			c.t.Errorf("%s: captures add up to %d, the aggregate says %d", o.ref, sum, got)
		}
	}
	c.capturedTotal = captured
	c.doubled += int(doubled)
	c.short += int(short)
	c.t.Logf("at vipps: %d captured in %d captures over %d orders; %d orders captured more than asked, %d less", captured, events, len(orders), doubled, short)
}

func (o *lossOrder) client() string {
	if o.sameKey {
		return "same key"
	}
	return "new keys"
}
