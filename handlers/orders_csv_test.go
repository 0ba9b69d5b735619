package handlers

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/shop"
	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// listFailing is a store whose order list fails from its failAt-th page
// on; the pages before it are empty but say there is more.
type listFailing struct {
	state.Store
	failAt int32
	calls  atomic.Int32
}

func (s *listFailing) List(cursor string, limit int, f state.ListFilter) ([]*state.Order, string, error) {
	if s.calls.Add(1) >= s.failAt {
		return nil, "", state.ErrUnavailable
	}
	return nil, state.CursorOf(&state.Order{CreatedAt: time.Now(), Reference: "more"}), nil
}

// TestOrdersCSVNeverEndsShort: a CSV export whose first page cannot be
// read is a 503 with nothing sent; one whose later page cannot be read is
// broken off, so that the bookkeeper's client sees a failed download, not
// a file that looks whole.
func TestOrdersCSVNeverEndsShort(t *testing.T) {
	for _, c := range []struct {
		failAt int32
		want   string
	}{{1, "503"}, {2, "broken off"}} {
		store, err := state.OpenBadger(t.TempDir(), state.Options{})
		if err != nil {
			t.Fatal(err)
		}
		client, err := vipps.New(vipps.Config{BaseURL: "http://127.0.0.1:1", ClientID: "c", ClientSecret: "s", SubscriptionKey: "k", MerchantSerialNumber: "123456"})
		if err != nil {
			t.Fatal(err)
		}
		catalog, _ := shop.NewCatalog("NOK", []shop.Product{{SKU: "socks", Name: "Socks", Price: 14900}})
		svc, err := shop.New(shop.Config{PublicURL: "https://shop.example", ReferencePrefix: "test", MerchantSerialNumber: "123456"},
			catalog, &listFailing{Store: store, failAt: c.failAt}, client, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(New(svc, Config{BasePath: "/vipps", AdminToken: "an-admin-token-for-tests"}))
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/vipps/orders?format=csv", nil)
		req.Header.Set("Authorization", "Bearer an-admin-token-for-tests")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			// Broken off before the first bytes went out: failed too.
			if c.want != "broken off" {
				t.Fatal(err)
			}
			srv.Close()
			store.Close()
			continue
		}
		body, readErr := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch c.want {
		case "503":
			if resp.StatusCode != http.StatusServiceUnavailable || strings.Contains(string(body), "reference,") {
				t.Errorf("the first page failing: %d %s", resp.StatusCode, body)
			}
		default:
			if resp.StatusCode != http.StatusOK || readErr == nil {
				t.Errorf("a later page failing: %d, read error %v, %d bytes", resp.StatusCode, readErr, len(body))
			}
		}
		srv.Close()
		store.Close()
	}
}
