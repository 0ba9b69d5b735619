package integration

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestOrdersSpeakTheBuyersLanguage: products named per language in the
// Caddyfile and in a catalog file reach a Norwegian buyer in Norwegian and
// an English one in English, everywhere the buyer meets them: shop.json,
// the payment's description in the app, the confirmation page and the
// receipt's order lines in Vipps Order Management.
func TestOrdersSpeakTheBuyersLanguage(t *testing.T) {
	catalog := filepath.Join(t.TempDir(), "catalog.json")
	if err := os.WriteFile(catalog, []byte(`{"products":[{"sku":"hat","name":"Wool hat","names":{"nb":"Ullue","sv":"Ullmössa"},"price":19900}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	startShop(t, shopConfig{CartDescription: true, Extra: `product scarf 29900 "Wool scarf" name nb "Ullskjerf" vat 25
		catalog ` + catalog})

	for _, tc := range []struct {
		accept, desc, price string
		lines               []string
	}{
		{"nb-NO,nb;q=0.9,en;q=0.5", "2 × Ullskjerf, 1 × Ullue", "299,00\u00a0kr", []string{"Ullskjerf", "Ullue"}},
		{"en-GB,en;q=0.9", "2 × Wool scarf, 1 × Wool hat", "NOK\u00a0299.00", []string{"Wool scarf", "Wool hat"}},
	} {
		t.Run(tc.lines[0], func(t *testing.T) {
			resp, body := do(t, http.MethodGet, shopURL+"/vipps/shop.json", nil, "Accept-Language", tc.accept)
			var info struct {
				Products []struct {
					SKU       string `json:"sku"`
					Name      string `json:"name"`
					PriceText string `json:"price_text"`
				} `json:"products"`
			}
			if err := json.Unmarshal(body, &info); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("shop.json: %d %s", resp.StatusCode, body)
			}
			for _, p := range info.Products {
				if p.SKU == "scarf" && (p.Name != tc.lines[0] || p.PriceText != tc.price) {
					t.Errorf("shop.json names the scarf %q at %q: %s", p.Name, p.PriceText, body)
				}
			}

			resp, body = do(t, http.MethodPost, shopURL+"/vipps/checkout", strings.NewReader("sku=scarf&qty=2&sku=hat&qty=1"),
				"Content-Type", "application/x-www-form-urlencoded", "Accept-Language", tc.accept)
			ref := resp.Header.Get("X-Vipps-Reference")
			if resp.StatusCode != http.StatusSeeOther || ref == "" {
				t.Fatalf("checkout: %d %s", resp.StatusCode, body)
			}
			_, body = do(t, http.MethodGet, simURL+"/_sim/payments/"+ref, nil)
			var payment struct {
				Description string `json:"paymentDescription"`
			}
			if err := json.Unmarshal(body, &payment); err != nil || payment.Description != tc.desc {
				t.Errorf("the payment's description in the app is %q, want %q", payment.Description, tc.desc)
			}

			simPost(t, "/_sim/payments/"+ref+"/approve", "")
			// Back from Vipps: the return checks the payment first.
			if resp, _ := do(t, http.MethodGet, shopURL+"/vipps/return?reference="+ref, nil); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("return after approval: %d", resp.StatusCode)
			}
			resp, body = do(t, http.MethodGet, shopURL+"/vipps/confirmation?reference="+ref, nil, "Accept-Language", tc.accept)
			for _, name := range tc.lines {
				if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), name) {
					t.Errorf("the confirmation does not name %q: %d\n%s", name, resp.StatusCode, body)
				}
			}

			waitFor(t, "receipt sent", func() bool { return storedOrder(t, ref).Receipt == "sent" })
			if got := receiptLines(t, ref); !slices.Equal(got, tc.lines) {
				t.Errorf("the receipt's order lines are %q, want %q", got, tc.lines)
			}
		})
	}
}

// receiptLines are the names of the order lines of the receipt Vipps
// Order Management holds for an order.
func receiptLines(t *testing.T, ref string) []string {
	t.Helper()
	_, b := do(t, http.MethodGet, simURL+"/_sim/receipts", nil)
	var receipts []struct {
		OrderID string `json:"order_id"`
		Receipt struct {
			OrderLines []struct {
				Name string `json:"name"`
			} `json:"orderLines"`
		} `json:"receipt"`
	}
	if err := json.Unmarshal(b, &receipts); err != nil {
		t.Fatalf("decoding receipts: %v: %s", err, b)
	}
	var names []string
	for _, r := range receipts {
		if r.OrderID == ref {
			for _, l := range r.Receipt.OrderLines {
				names = append(names, l.Name)
			}
		}
	}
	return names
}
