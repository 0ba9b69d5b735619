package integration

import (
	"encoding/json"
	"net/http"
	"testing"
)

// decision is what the waiting and kiosk pages poll in an order's JSON.
type decision struct {
	Status  string `json:"status"`
	Decided *bool  `json:"decided"`
	Paid    *bool  `json:"paid"`
	Final   *bool  `json:"final"`
}

func decisionOf(t *testing.T, ref string, asMerchant bool) decision {
	t.Helper()
	var (
		resp *http.Response
		body []byte
	)
	if asMerchant {
		resp, body = merchant(t, http.MethodGet, "/vipps/orders/"+ref, "")
	} else {
		resp, body = do(t, http.MethodGet, shopURL+"/vipps/orders/"+ref, nil, "Accept", "application/json")
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("order %s: %d %s", ref, resp.StatusCode, body)
	}
	var d decision
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	if d.Decided == nil || d.Paid == nil || d.Final != nil {
		t.Fatalf("order %s: want decided and paid, no final: %s", ref, body)
	}
	return d
}

// TestOrderJSONSaysDecidedAndPaid: an order's JSON, the buyer's and the
// merchant's, says "decided" once the payment's outcome at Vipps is known
// (reserved, as well as rejected) and "paid" only when the buyer paid;
// a new order is neither.
func TestOrderJSONSaysDecidedAndPaid(t *testing.T) {
	startShop(t, shopConfig{})
	paid, _ := checkout(t, twoItems())
	rejected, _ := checkout(t, twoItems())
	for _, merchantView := range []bool{false, true} {
		if d := decisionOf(t, paid, merchantView); *d.Decided || *d.Paid {
			t.Fatalf("a new order (merchant %v): %+v", merchantView, d)
		}
	}
	simPost(t, "/_sim/payments/"+paid+"/approve", "")
	simPost(t, "/_sim/payments/"+rejected+"/reject", "")
	for _, merchantView := range []bool{false, true} {
		waitFor(t, "the approved order decided", func() bool { return *decisionOf(t, paid, merchantView).Decided })
		if d := decisionOf(t, paid, merchantView); !*d.Paid || d.Status != "authorized" {
			t.Fatalf("an approved order (merchant %v): %+v", merchantView, d)
		}
		waitFor(t, "the rejected order decided", func() bool { return *decisionOf(t, rejected, merchantView).Decided })
		if d := decisionOf(t, rejected, merchantView); *d.Paid {
			t.Fatalf("a rejected order (merchant %v): %+v", merchantView, d)
		}
	}
}
