package handlers

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/caddy-vipps/caddy-vipps/shop"
	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

// TestWebhookFailedDeliveryIsNotAReplay: a delivery whose handling failed
// (503) is not remembered as seen, so the same signed request sent again is
// handled; one that was handled is refused when played again.
func TestWebhookFailedDeliveryIsNotAReplay(t *testing.T) {
	s := sim.New(sim.Options{})
	srv := httptest.NewServer(s)
	defer srv.Close()
	defer s.Close()
	store, err := state.OpenBadger(t.TempDir(), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	client, err := vipps.New(vipps.Config{BaseURL: srv.URL, ClientID: "c", ClientSecret: "s", SubscriptionKey: "k", MerchantSerialNumber: "123456"})
	if err != nil {
		t.Fatal(err)
	}
	catalog, _ := shop.NewCatalog("NOK", []shop.Product{{SKU: "socks", Name: "Socks", Price: 14900}})
	svc, err := shop.New(shop.Config{PublicURL: "https://shop.example", ReferencePrefix: "test", MerchantSerialNumber: "123456"}, catalog, store, client, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := svc.EnsureWebhook(ctx); err != nil {
		t.Fatal(err)
	}
	secret, _ := svc.WebhookSecret()
	res, err := svc.Checkout(ctx, shop.CheckoutRequest{Lines: []shop.CartLine{{SKU: "socks", Qty: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	ref := res.Order.Reference
	h := New(svc, Config{BasePath: "/vipps"})
	body := []byte(`{"msn":"123456","reference":"` + ref + `","pspReference":"1","name":"AUTHORIZED","amount":{"currency":"NOK","value":14900},"timestamp":"2026-01-01T00:00:00Z","success":true}`)
	req, _ := http.NewRequest(http.MethodPost, "https://shop.example/vipps/webhook", bytes.NewReader(body))
	vipps.SignWebhookRequest(req, secret, body, time.Now())
	deliver := func() int {
		r := httptest.NewRequest(http.MethodPost, "https://shop.example/vipps/webhook", bytes.NewReader(body))
		r.Header = req.Header.Clone()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}

	// The order's record cannot be read: the delivery cannot be recorded.
	good, _ := store.Get(ref)
	if err := store.DB().Update(func(txn *badgerTxn) error { return txn.Set([]byte("o/"+ref), []byte("{broken")) }); err != nil {
		t.Fatal(err)
	}
	if code := deliver(); code != http.StatusServiceUnavailable {
		t.Fatalf("delivery with an unreadable order: %d", code)
	}
	if err := store.Import([]*state.Order{good}); err != nil {
		t.Fatal(err)
	}
	if code := deliver(); code != http.StatusNoContent {
		t.Fatalf("the same delivery once it can be handled: %d", code)
	}
	if code := deliver(); code != http.StatusUnauthorized {
		t.Fatalf("a replay of a handled delivery: %d", code)
	}
}

type badgerTxn = badger.Txn
