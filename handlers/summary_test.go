package handlers

import (
	"strings"
	"testing"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// TestOrderSummaryFollowsTheAmounts: the confirmation page's wording for
// each state an order's money can be in, in English and Norwegian.
func TestOrderSummaryFollowsTheAmounts(t *testing.T) {
	pay := func(auth, capt, canc, ref int64) *state.Order {
		o := &state.Order{Currency: "NOK", Amount: auth, Payment: state.Payment{State: "AUTHORIZED", Authorized: auth, Captured: capt, Cancelled: canc, Refunded: ref}}
		o.Status = state.DeriveStatus(o.Payment, state.StatusAuthorized)
		return o
	}
	for _, tc := range []struct {
		name  string
		o     *state.Order
		title string
		says  []string
		not   []string
	}{
		{"reserved", pay(34900, 0, 0, 0), "Thank you for your order", []string{"NOK 349.00 is reserved in Vipps and is charged when your order ships."}, []string{"refunded"}},
		{"shipped in part", pay(34900, 14900, 0, 0), "Thank you for your order", []string{"Part of your order has shipped.", "NOK 149.00 has been charged.", "NOK 200.00 is still reserved"}, []string{"refunded"}},
		{"shipped", pay(34900, 34900, 0, 0), "Thank you for your order", []string{"Your order has shipped.", "NOK 349.00 has been charged."}, []string{"reserved", "refunded"}},
		{"shipped, rest released", pay(34900, 14900, 20000, 0), "Thank you for your order", []string{"Your order has shipped.", "NOK 149.00 has been charged.", "NOK 200.00 of the reservation was released"}, []string{"is reserved", "still reserved"}},
		{"cancelled", pay(34900, 0, 34900, 0), "Your order was cancelled", []string{"reservation of NOK 349.00 released. Nothing was charged."}, []string{"shipped"}},
		{"refunded in part", pay(34900, 34900, 0, 10000), "Thank you for your order", []string{"Your order has shipped.", "NOK 100.00 was refunded to you."}, []string{"reserved", "full amount"}},
		{"refunded", pay(34900, 34900, 0, 34900), "Your order was refunded", []string{"The full amount of NOK 349.00 was refunded to you."}, []string{"reserved", "charged when"}},
		{"shipped in part and refunded", pay(34900, 14900, 0, 14900), "Thank you for your order", []string{"NOK 200.00 is still reserved", "NOK 149.00 was refunded"}, []string{"full amount"}},
	} {
		title, lines := orderSummary(newLang("en", "Vipps", "", "NOK"), tc.o)
		text := strings.ReplaceAll(strings.Join(lines, " "), "\u00a0", " ")
		if title != tc.title {
			t.Errorf("%s: title %q, want %q", tc.name, title, tc.title)
		}
		for _, s := range tc.says {
			if !strings.Contains(text, s) {
				t.Errorf("%s: %q does not say %q", tc.name, text, s)
			}
		}
		for _, s := range tc.not {
			if strings.Contains(text, s) {
				t.Errorf("%s: %q says %q", tc.name, text, s)
			}
		}
	}
	_, lines := orderSummary(newLang("nb", "Vipps", "", "NOK"), pay(34900, 34900, 0, 34900))
	if got := strings.ReplaceAll(strings.Join(lines, " "), "\u00a0", " "); !strings.Contains(got, "Hele beløpet på 349,00 kr er refundert") {
		t.Errorf("Norwegian refund: %q", got)
	}
}
