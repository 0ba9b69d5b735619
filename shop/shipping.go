package shop

import (
	"fmt"
	"slices"
	"strings"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// ShippingOption is a fixed delivery choice the buyer picks in the Vipps or
// MobilePay app. With shipping options the checkout becomes an Express
// payment: Vipps asks the buyer for name, address, email and phone number,
// adds the chosen option's price to the amount, and hands the address to
// the shop.
type ShippingOption struct {
	// ID names the option; it comes back from Vipps with the buyer's
	// choice. At most 100 characters.
	ID string `json:"id"`

	// Name is shown to the buyer, e.g. "Home delivery".
	Name string `json:"name"`

	// Price in minor units, VAT included. Zero is free delivery.
	Price int64 `json:"price"`

	// VAT rate in percent. Default: the standard rate of the shop's
	// currency.
	VAT *float64 `json:"vat,omitempty"`

	// Default marks the preselected option. Default: the first one.
	Default bool `json:"default,omitempty"`

	// Brand is the carrier whose logo the app shows: BRING, DHL, FEDEX,
	// GLS, HELTHJEM, INSTABOX, MATKAHUOLTO, PORTERBUDDY, POSTEN, POSTI,
	// POSTNORD or OTHER. Default: OTHER.
	Brand string `json:"brand,omitempty"`

	// Type is HOME_DELIVERY, PICKUP_POINT, MAILBOX, IN_STORE or OTHER.
	// Default: OTHER.
	Type string `json:"type,omitempty"`

	// EstimatedDelivery is free text such as "2-3 days".
	EstimatedDelivery string `json:"estimated_delivery,omitempty"`
}

// SetShipping validates and sets the shop's shipping options: unique ids,
// names, prices from 0 to MaxAmount, VAT rates of the currency's market,
// known brands and types, and at most one default.
func (c *Catalog) SetShipping(opts []ShippingOption) error {
	out := make([]ShippingOption, 0, len(opts))
	seen := map[string]bool{}
	defaults := 0
	for _, o := range opts {
		switch {
		case o.ID == "" || len(o.ID) > 100:
			return fmt.Errorf("shipping option %q: the id must be 1-100 characters", truncate(o.ID, 100))
		case seen[o.ID]:
			return fmt.Errorf("shipping option %q is listed twice", o.ID)
		case strings.TrimSpace(o.Name) == "" || len(o.Name) > 200:
			return fmt.Errorf("shipping option %q: the name must be 1-200 bytes", o.ID)
		case o.Price < 0 || o.Price > MaxAmount:
			return fmt.Errorf("shipping option %q: price %d must be between 0 and %d minor units", o.ID, o.Price, MaxAmount)
		}
		if _, err := c.vatOf(o.VAT); err != nil {
			return fmt.Errorf("shipping option %q: %w", o.ID, err)
		}
		if o.Brand == "" {
			o.Brand = vipps.ShippingBrandOther
		}
		if o.Type == "" {
			o.Type = vipps.ShippingTypeOther
		}
		if !slices.Contains(vipps.ShippingBrands, o.Brand) {
			return fmt.Errorf("shipping option %q: unknown brand %q (use one of %s)", o.ID, o.Brand, strings.Join(vipps.ShippingBrands, ", "))
		}
		if !slices.Contains(vipps.ShippingTypes, o.Type) {
			return fmt.Errorf("shipping option %q: unknown type %q (use one of %s)", o.ID, o.Type, strings.Join(vipps.ShippingTypes, ", "))
		}
		if o.Default {
			defaults++
		}
		seen[o.ID] = true
		out = append(out, o)
	}
	if defaults > 1 {
		return fmt.Errorf("only one shipping option can be the default")
	}
	if defaults == 0 && len(out) > 0 {
		out[0].Default = true
	}
	c.shipping = out
	return nil
}

// Shipping lists the shipping options; none means the shop does not ship
// (or handles delivery itself).
func (c *Catalog) Shipping() []ShippingOption { return slices.Clone(c.shipping) }

// maxShipping is the price of the dearest shipping option.
func (c *Catalog) maxShipping() int64 {
	var m int64
	for _, o := range c.shipping {
		m = max(m, o.Price)
	}
	return m
}

// shippingOption returns the option with the given id.
func (c *Catalog) shippingOption(id string) (ShippingOption, bool) {
	i := slices.IndexFunc(c.shipping, func(o ShippingOption) bool { return o.ID == id })
	if i < 0 {
		return ShippingOption{}, false
	}
	return c.shipping[i], true
}

// fixedOptions turns the shipping options into Vipps shipping groups, one
// group per option in the configured order, as the official plugins do.
func (c *Catalog) fixedOptions() []vipps.ShippingGroup {
	groups := make([]vipps.ShippingGroup, 0, len(c.shipping))
	for i, o := range c.shipping {
		groups = append(groups, vipps.ShippingGroup{
			Brand: o.Brand, Type: o.Type, IsDefault: o.Default, Priority: i,
			Options: []vipps.ShippingOption{{
				ID: o.ID, Name: o.Name, Amount: vipps.Amount{Currency: c.currency, Value: o.Price},
				EstimatedDelivery: o.EstimatedDelivery, IsDefault: o.Default,
			}},
		})
	}
	return groups
}

// chosenShipping works out the delivery of an authorized Express payment:
// the option the buyer chose, priced as Vipps charged it. The price comes
// from Vipps' shippingCost, else from the difference between what was
// authorized and the goods; an unknown option id is recorded by its name.
func (c *Catalog) chosenShipping(o *state.Order, p *vipps.Payment) *state.Shipping {
	d := p.ShippingDetails
	if d == nil {
		return nil
	}
	sh := &state.Shipping{OptionID: d.ShippingOptionID, Name: d.ShippingOptionName, VATRate: standardVAT[o.Currency]}
	if opt, ok := c.shippingOption(d.ShippingOptionID); ok {
		sh.Name = opt.Name
		sh.VATRate, _ = c.vatOf(opt.VAT)
		sh.Amount = opt.Price
	}
	switch {
	case d.ShippingCost != nil:
		sh.Amount = d.ShippingCost.Value
	case p.Aggregate.AuthorizedAmount.Value > o.Amount:
		sh.Amount = p.Aggregate.AuthorizedAmount.Value - o.Amount
	}
	return sh
}
