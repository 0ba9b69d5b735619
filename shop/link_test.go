package shop

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// TestFreeAmountLinkChargesOnPaymentWithItsVAT: a reusable link of a free
// amount at 12 % VAT, charged on payment, is paid twice; each order is
// captured by the outbox without the merchant, once, and its receipt has
// one line with the stated rate and the VAT taken out of the amount.
func TestFreeAmountLinkChargesOnPaymentWithItsVAT(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	l, err := h.svc.CreateLink(LinkRequest{Charge: Charge{Amount: 150000, Description: "Deposit for a custom table", VAT: vat(12), CaptureOnPayment: true}, Reusable: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Token) < 32 || l.Items[0].VATRate != 1200 || l.Amount != 150000 || !l.ExpiresAt.Equal(h.clock.Now().UTC().Add(DefaultLinkLifetime)) {
		t.Fatalf("link: %+v", l)
	}
	for range 2 {
		res, err := h.svc.PayLink(ctx, l.Token, LinkPayment{})
		if err != nil {
			t.Fatal(err)
		}
		ref := res.Order.Reference
		if res.Order.Link != l.ID || !res.Order.CaptureOnPayment || res.Order.Description != "Deposit for a custom table" {
			t.Fatalf("order: %+v", res.Order)
		}
		if err := h.sim.Approve(ref); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.Refresh(ctx, ref, state.SourceWebhook); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.Refresh(ctx, ref, state.SourcePoller); err != nil {
			t.Fatal(err)
		}
		h.runWorker()
		o := h.order(ref)
		if o.Status != state.StatusCaptured || o.Payment.Captured != 150000 || len(o.Ops) != 1 || o.Ops[0].Actor != captureOnPaymentActor {
			t.Fatalf("after payment: %s, captured %d, ops %+v", o.Status, o.Payment.Captured, o.Ops)
		}
		if n := eventsWithKey(h.atVipps(ref), o.Ops[0].IdempotencyKey); n != 1 {
			t.Fatalf("captures at vipps: %d", n)
		}
		var found bool
		for _, r := range h.sim.Receipts() {
			if r.OrderID != ref {
				continue
			}
			found = true
			lines := r.Receipt.OrderLines
			if len(lines) != 1 || lines[0].TaxRate == nil || *lines[0].TaxRate != 1200 || lines[0].TotalTaxAmount != 16071 || lines[0].TotalAmount != 150000 || lines[0].Name != "Deposit for a custom table" {
				t.Fatalf("receipt lines: %+v", lines)
			}
		}
		if !found {
			t.Fatalf("no receipt for %s", ref)
		}
	}
	if n, _, _ := h.svc.LinkOrders(l.ID, "", 10); len(n) != 2 {
		t.Fatalf("the link's orders: %d", len(n))
	}
}

// TestSingleUseLinkTakesOnePayment: while its order waits for the buyer a
// single-use link is busy; rejected, it is free again; paid, it is used.
// Expired and disabled links take nothing; a wrong token is not found.
func TestSingleUseLinkTakesOnePayment(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	l, err := h.svc.CreateLink(LinkRequest{Charge: Charge{Lines: []CartLine{{SKU: "book", Qty: 2}}}, ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if l.Amount != 69800 || l.Description != "2 × Cookbook" || l.Reusable {
		t.Fatalf("link: %+v", l)
	}
	first, err := h.svc.PayLink(ctx, l.Token, LinkPayment{})
	if err != nil {
		t.Fatal(err)
	}
	busy, _ := h.svc.Link(l.ID)
	if _, err := h.svc.PayLink(ctx, l.Token, LinkPayment{}); !errors.Is(err, ErrLinkBusy) || h.svc.LinkStatus(busy) != LinkBusy {
		t.Fatalf("while the first waits: %v", err)
	}
	if err := h.sim.Reject(first.Order.Reference); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Refresh(ctx, first.Order.Reference, state.SourceWebhook); err != nil {
		t.Fatal(err)
	}
	second, err := h.svc.PayLink(ctx, l.Token, LinkPayment{Flow: FlowQR})
	if err != nil {
		t.Fatalf("after the first was rejected: %v", err)
	}
	if second.Order.Flow != vipps.UserFlowQR || second.RedirectURL == "" {
		t.Fatalf("a QR payment: %+v", second)
	}
	if err := h.sim.Approve(second.Order.Reference); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Refresh(ctx, second.Order.Reference, state.SourceWebhook); err != nil {
		t.Fatal(err)
	}
	cur, _ := h.svc.Link(l.ID)
	if _, err := h.svc.PayLink(ctx, l.Token, LinkPayment{}); !errors.Is(err, ErrLinkUsed) || h.svc.LinkStatus(cur) != LinkUsed {
		t.Fatalf("after it was paid: %v", err)
	}
	if o := h.order(second.Order.Reference); o.Status != state.StatusAuthorized || len(o.Ops) != 0 {
		t.Fatalf("an order captured on ship is not charged at once: %+v", o)
	}

	other, _ := h.svc.CreateLink(LinkRequest{Charge: Charge{Lines: []CartLine{{SKU: "mug", Qty: 1}}}, ExpiresIn: time.Hour, Reusable: true})
	if _, err := h.svc.PayLink(ctx, other.Token[:len(other.Token)-1]+"x", LinkPayment{}); !errors.Is(err, ErrLinkNotFound) {
		t.Fatalf("a wrong token: %v", err)
	}
	h.clock.Advance(time.Hour)
	if _, err := h.svc.PayLink(ctx, other.Token, LinkPayment{}); !errors.Is(err, ErrLinkExpired) || h.svc.LinkStatus(other) != LinkExpired {
		t.Fatalf("an expired link: %v", err)
	}
	third, _ := h.svc.CreateLink(LinkRequest{Charge: Charge{Lines: []CartLine{{SKU: "mug", Qty: 1}}}, Reusable: true})
	if _, err := h.svc.DisableLink(third.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.PayLink(ctx, third.Token, LinkPayment{}); !errors.Is(err, ErrLinkDisabled) {
		t.Fatalf("a disabled link: %v", err)
	}
	if orders, _, _ := h.svc.LinkOrders(third.ID, "", 10); len(orders) != 0 {
		t.Fatalf("a refused payment stored an order")
	}
}

// TestLinkRequestsAreChecked: every mistake is an InputError naming its
// field, and stores nothing.
func TestLinkRequestsAreChecked(t *testing.T) {
	h := newHarness(t)
	for name, c := range map[string]struct {
		req   LinkRequest
		field string
	}{
		"nothing":               {LinkRequest{}, "lines"},
		"lines and amount":      {LinkRequest{Charge: Charge{Lines: []CartLine{{SKU: "mug", Qty: 1}}, Amount: 100, VAT: vat(25)}}, "amount"},
		"amount without vat":    {LinkRequest{Charge: Charge{Amount: 10000, Description: "A table"}}, "vat"},
		"vat of another market": {LinkRequest{Charge: Charge{Amount: 10000, Description: "A table", VAT: vat(24)}}, "vat"},
		"amount without words":  {LinkRequest{Charge: Charge{Amount: 10000, VAT: vat(25)}}, "description"},
		"less than a krone":     {LinkRequest{Charge: Charge{Amount: 99, Description: "A pin", VAT: vat(25)}}, "amount"},
		"an unknown product":    {LinkRequest{Charge: Charge{Lines: []CartLine{{SKU: "sofa", Qty: 1}}}}, "sku"},
		"a long description":    {LinkRequest{Charge: Charge{Amount: 10000, VAT: vat(25), Description: string(make([]byte, 101))}}, "description"},
		"expiry in the past":    {LinkRequest{Charge: Charge{Lines: []CartLine{{SKU: "mug", Qty: 1}}}, ExpiresIn: -time.Hour}, "expires_at"},
		"expiry in two years":   {LinkRequest{Charge: Charge{Lines: []CartLine{{SKU: "mug", Qty: 1}}}, ExpiresIn: 2 * 365 * 24 * time.Hour}, "expires_at"},
	} {
		_, err := h.svc.CreateLink(c.req)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != c.field {
			t.Errorf("%s: %v, want an InputError on %s", name, err, c.field)
		}
	}
	if links, _, _ := h.svc.Links("", 10); len(links) != 0 {
		t.Fatalf("refused requests stored %d links", len(links))
	}
}

// lookupTap is a store that records every token hash a link is looked up
// by.
type lookupTap struct {
	state.Store
	hashes []string
}

func (s *lookupTap) LinkByToken(hash string) (*state.Link, error) {
	s.hashes = append(s.hashes, hash)
	return s.Store.LinkByToken(hash)
}

// TestEveryTokenTakesOnePath: whether a guess is one character off a real
// token, made up, or of the wrong shape, the shop asks the store once, for
// the hash of exactly what came, and answers ErrLinkNotFound: no early
// answer tells a near miss from a wild guess.
func TestEveryTokenTakesOnePath(t *testing.T) {
	h := newHarness(t)
	tap := &lookupTap{Store: h.store}
	svc, err := New(h.svc.Config(), h.svc.Catalog(), tap, h.client("shop"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := svc.CreateLink(LinkRequest{Charge: Charge{Lines: []CartLine{{SKU: "mug", Qty: 1}}}})
	if err != nil {
		t.Fatal(err)
	}
	near := []byte(l.Token)
	near[len(near)-1] ^= 1
	guesses := []string{string(near), l.Token[:len(l.Token)-1], l.Token + "a", "abcdefghijklmnopqrstuvwxyz234567", "", "../../orders", "ÆØÅ"}
	for _, g := range guesses {
		tap.hashes = nil
		if _, err := svc.LinkByToken(g); !errors.Is(err, ErrLinkNotFound) {
			t.Errorf("guess %q: %v", g, err)
		}
		if len(tap.hashes) != 1 || tap.hashes[0] != state.Hash(g) {
			t.Errorf("guess %q looked up %v, want once by its hash", g, tap.hashes)
		}
	}
	if got, err := svc.LinkByToken(l.Token); err != nil || got.ID != l.ID {
		t.Fatalf("the real token: %v", err)
	}
}

// TestSecondPressOfPayFindsItsPayment: a buyer who presses Pay twice on
// one drawing of a single-use link's page (a double click: two requests
// at the same moment) is sent to the one payment the first press started,
// not told the link is busy; another buyer is. Once that payment ended
// unpaid, the same press is a new try.
func TestSecondPressOfPayFindsItsPayment(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	l, err := h.svc.CreateLink(LinkRequest{Charge: Charge{Lines: []CartLine{{SKU: "book", Qty: 1}}}, ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	const attempt = "3f9a0c1e5b7d2a4c6e8f0a1b"
	var results [2]*CheckoutResult
	var errs [2]error
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = h.svc.PayLink(ctx, l.Token, LinkPayment{Attempt: attempt})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("press %d: %v", i+1, err)
		}
	}
	if results[0].Order.Reference != results[1].Order.Reference || results[0].RedirectURL == "" || results[0].RedirectURL != results[1].RedirectURL {
		t.Fatalf("two presses: %s → %s, %s → %s", results[0].Order.Reference, results[0].RedirectURL, results[1].Order.Reference, results[1].RedirectURL)
	}
	if cur, _ := h.svc.Link(l.ID); cur.Orders != 1 {
		t.Fatalf("two presses made %d orders", cur.Orders)
	}
	if _, err := h.svc.PayLink(ctx, l.Token, LinkPayment{Attempt: "0000000000000000ffff"}); !errors.Is(err, ErrLinkBusy) {
		t.Fatalf("another buyer while the first waits: %v", err)
	}
	if _, err := h.svc.PayLink(ctx, l.Token, LinkPayment{Attempt: "Robert'); DROP"}); !errors.As(err, new(*InputError)) {
		t.Fatalf("a made-up attempt: %v", err)
	}

	ref := results[0].Order.Reference
	if err := h.sim.Reject(ref); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Refresh(ctx, ref, state.SourceWebhook); err != nil {
		t.Fatal(err)
	}
	again, err := h.svc.PayLink(ctx, l.Token, LinkPayment{Attempt: attempt})
	if err != nil || again.Order.Reference == ref || again.RedirectURL == "" {
		t.Fatalf("the same press after its payment was rejected: %+v %v", again, err)
	}
}

// TestLinkForAnUnpaidOrder: an order whose payment the buyer rejected gets
// a link that charges its lines at that order's prices; paying it makes a
// new order of the link. A link is
// refused for an order still waiting for its buyer, one that was paid, and
// one that does not exist.
func TestLinkForAnUnpaidOrder(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	res, err := h.svc.Checkout(ctx, CheckoutRequest{Lines: []CartLine{{SKU: "socks", Qty: 2}, {SKU: "mug", Qty: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	unpaid := res.Order.Reference
	if _, err := h.svc.CreateLink(LinkRequest{Charge: Charge{Order: unpaid}}); !errors.As(err, new(*StateError)) {
		t.Fatalf("a link for an order that waits for its buyer: %v", err)
	}
	if err := h.sim.Reject(unpaid); err != nil {
		t.Fatal(err)
	}
	if o, err := h.svc.Refresh(ctx, unpaid, state.SourceWebhook); err != nil || !o.Status.Final() || o.Payment.Authorized != 0 {
		t.Fatalf("the rejected order: %+v %v", o, err)
	}
	l, err := h.svc.CreateLink(LinkRequest{Charge: Charge{Order: unpaid}})
	if err != nil {
		t.Fatal(err)
	}
	if l.ForOrder != unpaid || l.Amount != 2*14900+19900 || len(l.Items) != 2 || l.Items[0].SKU != "socks" || l.Items[0].Qty != 2 || l.Reusable {
		t.Fatalf("the link for %s: %+v", unpaid, l)
	}
	paid, err := h.svc.PayLink(ctx, l.Token, LinkPayment{})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.sim.Approve(paid.Order.Reference); err != nil {
		t.Fatal(err)
	}
	o, err := h.svc.Refresh(ctx, paid.Order.Reference, state.SourceReturn)
	if err != nil || o.Status != state.StatusAuthorized || o.Payment.Authorized != 2*14900+19900 || o.Link != l.ID || o.Reference == unpaid {
		t.Fatalf("the order paid through the link: %+v %v", o, err)
	}
	if _, err := h.svc.CreateLink(LinkRequest{Charge: Charge{Order: o.Reference}}); !errors.As(err, new(*StateError)) {
		t.Fatalf("a link for a paid order: %v", err)
	}
	// Its goods are paid: neither another link nor a sale at the counter
	// may charge them again.
	if _, err := h.svc.CreateLink(LinkRequest{Charge: Charge{Order: unpaid}}); !errors.As(err, new(*StateError)) {
		t.Fatalf("a second link for goods paid through the first: %v", err)
	}
	if _, err := h.svc.CounterSale(ctx, Charge{Order: unpaid}); !errors.As(err, new(*StateError)) {
		t.Fatalf("a sale at the counter of goods paid through a link: %v", err)
	}
	// Another unpaid order charged at the counter instead, by Vipps' QR
	// code.
	res2, err := h.svc.Checkout(ctx, CheckoutRequest{Lines: []CartLine{{SKU: "socks", Qty: 2}, {SKU: "mug", Qty: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.sim.Reject(res2.Order.Reference); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Refresh(ctx, res2.Order.Reference, state.SourceWebhook); err != nil {
		t.Fatal(err)
	}
	counter, err := h.svc.CounterSale(ctx, Charge{Order: res2.Order.Reference})
	if err != nil || counter.Order.Flow != FlowQR || counter.Order.Amount != 2*14900+19900 || len(counter.Order.Items) != 2 || counter.Order.AgainFor != res2.Order.Reference {
		t.Fatalf("the unpaid order at the counter: %+v %v", counter, err)
	}
	if _, err := h.svc.CreateLink(LinkRequest{Charge: Charge{Order: "test-nope"}}); !errors.As(err, new(*InputError)) {
		t.Fatalf("a link for no order: %v", err)
	}
	if _, err := h.svc.CreateLink(LinkRequest{Charge: Charge{Order: unpaid, Lines: []CartLine{{SKU: "mug", Qty: 1}}}}); !errors.As(err, new(*InputError)) {
		t.Fatalf("an order and lines: %v", err)
	}
}
