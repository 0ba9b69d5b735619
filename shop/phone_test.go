package shop

import (
	"errors"
	"testing"
)

func TestNormalizePhoneInEachMarket(t *testing.T) {
	good := []struct {
		currency, in, want string
	}{
		{"NOK", "", ""},
		{"NOK", "+47 912 34 567", "4791234567"},
		{"NOK", "0047 912 34 567", "4791234567"},
		{"NOK", "912 34 567", "4791234567"},
		{"NOK", "91234567", "4791234567"},
		{"NOK", "4791234567", "4791234567"},
		{"NOK", " 912-34-567 ", "4791234567"},
		{"NOK", "+46 70 123 45 67", "46701234567"}, // a Swedish number in a Norwegian shop
		{"DKK", "20 12 34 56", "4520123456"},
		{"DKK", "+45 20123456", "4520123456"},
		{"DKK", " 45-20123456 ", "4520123456"},
		{"SEK", "070-123 45 67", "46701234567"},
		{"SEK", "+46 70 123 45 67", "46701234567"},
		{"SEK", "0046 70 123 45 67", "46701234567"},
		{"EUR", "040 123 4567", "358401234567"},
		{"EUR", "+358 40 123 4567", "358401234567"},
		{"EUR", "(040) 123 4567", "358401234567"},
	}
	for _, tc := range good {
		got, err := NormalizePhone(tc.in, MarketOf(tc.currency))
		if err != nil || got != tc.want {
			t.Errorf("%s shop: NormalizePhone(%q) = %q, %v; want %q", tc.currency, tc.in, got, err, tc.want)
		}
	}
	bad := []struct{ currency, in string }{
		{"NOK", "12345"},
		{"NOK", "9123456"},    // seven digits: not a Norwegian number
		{"NOK", "0912345678"}, // no trunk 0 in Norway, and no country code
		{"NOK", "+47 912 34 567 1234 56"},
		{"NOK", "47912abc67"},
		{"NOK", "<script>"},
		{"NOK", "+"},
		{"NOK", "00"},
		{"DKK", "2012345"},
		{"SEK", "0701"},
		{"EUR", "0"},
		{"NOK", "phone"},
	}
	for _, tc := range bad {
		_, err := NormalizePhone(tc.in, MarketOf(tc.currency))
		var in *InputError
		if !errors.As(err, &in) || in.Code != CodePhone || in.Field != "phone" {
			t.Errorf("%s shop: NormalizePhone(%q) = %v, want an InputError with code phone", tc.currency, tc.in, err)
		}
	}
}

func TestMarketOf(t *testing.T) {
	for cur, code := range map[string]string{"NOK": "47", "SEK": "46", "DKK": "45", "EUR": "358", "XXX": "47"} {
		if got := MarketOf(cur).CallingCode; got != code {
			t.Errorf("MarketOf(%s).CallingCode = %s, want %s", cur, got, code)
		}
	}
}
