package shop

import (
	"fmt"
	"slices"
	"strings"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// collectScopes maps what a merchant may collect to Vipps profile scopes.
var collectScopes = map[string]string{
	"name":    "name",
	"email":   "email",
	"address": "address",
	"phone":   "phoneNumber",
}

// ParseCollect checks what a shop asks buyers to share (any of name, email,
// address, phone) and returns the Vipps profile scopes, in a fixed order.
func ParseCollect(values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		sc, ok := collectScopes[strings.ToLower(strings.TrimSpace(v))]
		if !ok {
			return nil, fmt.Errorf("cannot collect %q: use any of name, email, address, phone", truncate(v, 32))
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return scopeOrder(a) - scopeOrder(b) })
	return out, nil
}

func scopeOrder(s string) int {
	return slices.Index([]string{"name", "address", "email", "phoneNumber"}, s)
}

// scopeFor is the profile scope of an order: what the shop collects from
// everyone plus what its products ask for, or all four for Express, which
// Vipps requires.
func (s *Service) scopeFor(items []state.Item, express bool) string {
	if express {
		return vipps.ExpressScope
	}
	values := slices.Clone(s.cfg.Collect)
	for _, it := range items {
		if p, ok := s.catalog.Lookup(it.SKU); ok {
			values = append(values, p.Collect...)
		}
	}
	scopes, _ := ParseCollect(values) // validated with the configuration

	return strings.Join(scopes, " ")
}

// buyerFrom turns what Vipps shared into the order's buyer details, kept
// apart from the order and expiring with the retention period. For an
// Express payment the delivery address is the one chosen in the app.
func buyerFrom(prev *state.Buyer, sub string, d *vipps.UserDetails, ship *vipps.ShippingDetails) state.Buyer {
	var b state.Buyer
	if prev != nil {
		b = *prev
	}
	if sub != "" {
		b.Sub = sub
	}
	if d != nil {
		if name := strings.TrimSpace(d.FirstName + " " + d.LastName); name != "" {
			b.Name = name
		}
		if d.Email != "" {
			b.Email = d.Email
		}
		if d.MobileNumber != "" {
			b.Phone = d.MobileNumber
		}
		if len(d.Addresses) > 0 {
			setAddress(&b, d.Addresses[0])
		}
	}
	if ship != nil && ship.Address != nil {
		setAddress(&b, *ship.Address)
	}
	return b
}

func setAddress(b *state.Buyer, a vipps.Address) {
	b.Address = nil
	for _, l := range []string{a.AddressLine1, a.AddressLine2} {
		if strings.TrimSpace(l) != "" {
			b.Address = append(b.Address, l)
		}
	}
	b.PostCode, b.City, b.Country = a.PostCode, a.City, a.Country
}

// userDetailsFrom reads the Userinfo API's answer as ePayment's
// userDetails.
func userDetailsFrom(u *vipps.Userinfo) *vipps.UserDetails {
	d := &vipps.UserDetails{FirstName: u.GivenName, LastName: u.FamilyName, Email: u.Email, MobileNumber: u.PhoneNumber}
	if u.GivenName == "" && u.FamilyName == "" {
		d.FirstName = u.Name
	}
	if a := u.Address; a != nil {
		d.Addresses = []vipps.Address{{AddressLine1: a.StreetAddress, PostCode: a.PostalCode, City: a.Region, Country: a.Country}}
	}
	return d
}
