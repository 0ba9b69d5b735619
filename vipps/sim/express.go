package sim

import (
	"net/http"
	"slices"
	"strings"

	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// validateShipping applies the Express rules to a create request with
// shipping: WALLET, exactly the scope "name address email phoneNumber" (in
// any order), exactly one of fixedOptions and dynamicOptions, and options
// priced in the payment's currency. Dynamic options (a callback to the
// merchant for each address) are not simulated.
func (s *Simulator) validateShipping(req *vipps.CreatePaymentRequest) *apiError {
	sh := req.Shipping
	if s.settings.Load().ExpressDisabled {
		return domainErr(http.StatusBadRequest, "5020", "Express payment not allowed", "Express is not enabled for this sales unit.")
	}
	if req.PaymentMethod.Type != vipps.PaymentMethodWallet {
		return domainErr(http.StatusBadRequest, "4160", "Invalid payment method type", "Express payments need paymentMethod.type WALLET.")
	}
	want := strings.Fields(vipps.ExpressScope)
	got := []string{}
	if req.Profile != nil {
		got = strings.Fields(req.Profile.Scope)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		return domainErr(http.StatusBadRequest, "4080", "Invalid scope", "Express payments need exactly the scope \""+vipps.ExpressScope+"\".")
	}
	switch {
	case len(sh.FixedOptions) > 0 && sh.DynamicOptions != nil:
		return validationErr("shipping", "Give either fixedOptions or dynamicOptions, not both.")
	case sh.DynamicOptions != nil:
		return validationErr("shipping.dynamicOptions", "The simulator supports fixedOptions only.")
	case len(sh.FixedOptions) == 0:
		return validationErr("shipping", "Give fixedOptions or dynamicOptions.")
	}
	seen := map[string]bool{}
	for _, g := range sh.FixedOptions {
		if !slices.Contains(vipps.ShippingBrands, g.Brand) {
			return validationErr("shipping.fixedOptions.brand", "Unknown brand "+g.Brand+".")
		}
		if !slices.Contains(vipps.ShippingTypes, g.Type) {
			return validationErr("shipping.fixedOptions.type", "Unknown type "+g.Type+".")
		}
		if len(g.Options) == 0 {
			return validationErr("shipping.fixedOptions.options", "A shipping group needs at least one option.")
		}
		for _, o := range g.Options {
			switch {
			case o.ID == "" || len(o.ID) > 100:
				return validationErr("shipping.fixedOptions.options.id", "An option id is 1 to 100 characters.")
			case seen[o.ID]:
				return validationErr("shipping.fixedOptions.options.id", "The option id "+o.ID+" is used twice.")
			case strings.TrimSpace(o.Name) == "":
				return validationErr("shipping.fixedOptions.options.name", "An option needs a name.")
			case o.Amount.Currency != req.Amount.Currency:
				return validationErr("shipping.fixedOptions.options.amount.currency", "Options are priced in the payment's currency.")
			case o.Amount.Value < 0 || req.Amount.Value+o.Amount.Value > 65_000_000:
				return validationErr("shipping.fixedOptions.options.amount.value", "The option's amount is out of range.")
			}
			seen[o.ID] = true
		}
	}
	return nil
}

// shippingChoices lists the options of an Express payment in the order the
// app shows them: groups by priority, then options by priority.
func (p *payment) shippingChoices() []vipps.ShippingOption {
	if p.Req.Shipping == nil {
		return nil
	}
	groups := slices.Clone(p.Req.Shipping.FixedOptions)
	slices.SortStableFunc(groups, func(a, b vipps.ShippingGroup) int { return a.Priority - b.Priority })
	var out []vipps.ShippingOption
	for _, g := range groups {
		opts := slices.Clone(g.Options)
		slices.SortStableFunc(opts, func(a, b vipps.ShippingOption) int { return a.Priority - b.Priority })
		out = append(out, opts...)
	}
	return out
}

// defaultShipping is the option the app preselects: the default option of
// the default group, else the first.
func (p *payment) defaultShipping() string {
	if p.Req.Shipping == nil {
		return ""
	}
	for _, g := range p.Req.Shipping.FixedOptions {
		if !g.IsDefault {
			continue
		}
		for _, o := range g.Options {
			if o.IsDefault {
				return o.ID
			}
		}
		if len(g.Options) > 0 {
			return g.Options[0].ID
		}
	}
	if c := p.shippingChoices(); len(c) > 0 {
		return c[0].ID
	}
	return ""
}

func (p *payment) shippingOption(id string) (vipps.ShippingOption, bool) {
	for _, o := range p.shippingChoices() {
		if o.ID == id {
			return o, true
		}
	}
	return vipps.ShippingOption{}, false
}

// shippingDetails is what the buyer chose, shown once the payment is
// authorized.
func (p *payment) shippingDetails() *vipps.ShippingDetails {
	if p.Shipping == nil || !p.shares() {
		return nil
	}
	addr := userAddress(p.User)
	cost := p.Shipping.Amount
	return &vipps.ShippingDetails{Address: &addr, ShippingCost: &cost, ShippingOptionID: p.Shipping.ID, ShippingOptionName: p.Shipping.Name}
}
