package caddyvipps

import (
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"

	"github.com/caddy-vipps/caddy-vipps/shop"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("vipps", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("vipps", httpcaddyfile.Before, "respond")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	v := new(Handler)
	err := v.UnmarshalCaddyfile(h.Dispenser)
	return v, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	vipps [<matcher>] {
//	    environment            simulator|test|production
//	    simulator_listen       <host:port>
//	    client_id              <id>
//	    client_secret          <secret>        # {env.VIPPS_CLIENT_SECRET} or {file./run/secrets/...}
//	    subscription_key       <key>
//	    merchant_serial_number <msn>
//	    api_url                <url>
//	    public_url             <url>
//	    base_path              <path>
//	    reference_prefix       <prefix>
//	    currency               NOK|DKK|EUR|SEK
//	    payment_description    <text>
//	    product                <sku> <price in minor units> <name> [vat <percent>] [collect <detail>...]
//	    catalog                <file.json>
//	    collect                name|email|address|phone...
//	    shipping               <id> <price in minor units> <name> [default] [vat <percent>]
//	    success_url            <url>
//	    cancel_url             <url>
//	    shop_url               <url>
//	    language               en|nb|da|sv|fi
//	    brand                  auto|vipps|mobilepay
//	    admin_token            <token>
//	    admin_users            <user> [<user>...]
//	    notify_url             <url>
//	    notify_secret          <secret>
//	    data_dir               <path>
//	    poll_interval          <duration>
//	    max_body_size          <size>
//	    timeout                <duration>
//	    buyer_retention        <duration>
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	texts := map[string]*string{
		"environment":            &h.Environment,
		"simulator_listen":       &h.SimulatorListen,
		"client_id":              &h.ClientID,
		"client_secret":          &h.ClientSecret,
		"subscription_key":       &h.SubscriptionKey,
		"merchant_serial_number": &h.MerchantSerialNumber,
		"api_url":                &h.APIURL,
		"public_url":             &h.PublicURL,
		"base_path":              &h.BasePath,
		"reference_prefix":       &h.ReferencePrefix,
		"currency":               &h.Currency,
		"payment_description":    &h.PaymentDescription,
		"catalog":                &h.CatalogFile,
		"success_url":            &h.SuccessURL,
		"cancel_url":             &h.CancelURL,
		"shop_url":               &h.ShopURL,
		"language":               &h.Language,
		"brand":                  &h.Brand,
		"admin_token":            &h.AdminToken,
		"data_dir":               &h.DataDir,
		"notify_url":             &h.NotifyURL,
		"notify_secret":          &h.NotifySecret,
	}
	durations := map[string]*caddy.Duration{
		"poll_interval":   &h.PollInterval,
		"timeout":         &h.Timeout,
		"buyer_retention": &h.BuyerRetention,
	}
	seen := map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		if opt != "product" && opt != "shipping" && seen[opt] {
			return d.Errf("%s already specified", opt)
		}
		seen[opt] = true
		if target, ok := texts[opt]; ok {
			if !d.AllArgs(target) {
				return d.ArgErr()
			}
			continue
		}
		if target, ok := durations[opt]; ok {
			var s string
			if !d.AllArgs(&s) {
				return d.ArgErr()
			}
			dur, err := caddy.ParseDuration(s)
			if err != nil || dur <= 0 {
				return d.Errf("invalid %s '%s': use a positive duration such as 5s or 30d", opt, s)
			}
			if opt == "timeout" {
				if err := checkTimeout(dur); err != nil {
					return d.Err(err.Error())
				}
			}
			*target = caddy.Duration(dur)
			continue
		}
		switch opt {
		case "product":
			p, err := parseProduct(d)
			if err != nil {
				return err
			}
			h.Products = append(h.Products, p)
		case "shipping":
			o, err := parseShipping(d)
			if err != nil {
				return err
			}
			h.Shipping = append(h.Shipping, o)
		case "collect":
			values := d.RemainingArgs()
			if len(values) == 0 {
				return d.ArgErr()
			}
			if _, err := shop.ParseCollect(values); err != nil {
				return d.Err(err.Error())
			}
			h.Collect = values
		case "admin_users":
			users := d.RemainingArgs()
			if len(users) == 0 {
				return d.ArgErr()
			}
			h.AdminUsers = append(h.AdminUsers, users...)
		case "max_body_size":
			var s string
			if !d.AllArgs(&s) {
				return d.ArgErr()
			}
			size, err := humanize.ParseBytes(s)
			if err != nil || size == 0 || size > 1<<30 {
				return d.Errf("invalid max_body_size '%s': use a size such as 64KB", s)
			}
			h.MaxBodySize = int64(size)
		default:
			return d.Errf("unrecognized subdirective '%s'", opt)
		}
	}
	switch h.Environment {
	case "", EnvSimulator, EnvTest, EnvProduction:
	default:
		return d.Errf("invalid environment '%s': use simulator, test or production", h.Environment)
	}
	if err := shop.ValidatePrefix(h.ReferencePrefix); err != nil {
		return d.Err(err.Error())
	}
	if len(h.Products) > 0 || len(h.Shipping) > 0 {
		currency := h.Currency
		if currency == "" {
			currency = "NOK"
		}
		c, err := shop.NewCatalog(currency, h.Products)
		if err != nil {
			return d.Err(err.Error())
		}
		if err := c.SetShipping(h.Shipping); err != nil {
			return d.Err(err.Error())
		}
	}
	return nil
}

// parseProduct reads: product <sku> <price in minor units> <name> [vat <percent>] [collect <detail>...]
func parseProduct(d *caddyfile.Dispenser) (shop.Product, error) {
	const usage = "product needs: <sku> <price in minor units> <name> [vat <percent>] [collect <detail>...]"
	args := d.RemainingArgs()
	if len(args) < 3 {
		return shop.Product{}, d.Errf("%s, got %d arguments", usage, len(args))
	}
	p := shop.Product{SKU: args[0], Name: args[2]}
	price, err := strconv.ParseInt(args[1], 10, 64)
	if err != nil || price <= 0 {
		hint := ""
		if strings.ContainsAny(args[1], ".,") {
			hint = " (prices are whole minor units: 14900 for 149.00)"
		}
		return shop.Product{}, d.Errf("product %s: invalid price '%s'%s", args[0], args[1], hint)
	}
	p.Price = price
	for rest := args[3:]; len(rest) > 0; {
		switch {
		case rest[0] == "vat" && len(rest) > 1 && p.VAT == nil:
			v, err := shop.ParsePercent(rest[1])
			if err != nil {
				return shop.Product{}, d.Errf("product %s: invalid vat '%s'", args[0], rest[1])
			}
			p.VAT, rest = &v, rest[2:]
		case rest[0] == "collect" && len(rest) > 1 && p.Collect == nil:
			if _, err := shop.ParseCollect(rest[1:]); err != nil {
				return shop.Product{}, d.Errf("product %s: %v", args[0], err)
			}
			p.Collect, rest = rest[1:], nil
		default:
			return shop.Product{}, d.Errf("product %s: expected 'vat <percent>' or 'collect <detail>...', got '%s'", args[0], rest[0])
		}
	}
	return p, nil
}

// parseShipping reads: shipping <id> <price in minor units> <name> [default] [vat <percent>]
func parseShipping(d *caddyfile.Dispenser) (shop.ShippingOption, error) {
	const usage = "shipping needs: <id> <price in minor units> <name> [default] [vat <percent>]"
	args := d.RemainingArgs()
	if len(args) < 3 {
		return shop.ShippingOption{}, d.Errf("%s, got %d arguments", usage, len(args))
	}
	o := shop.ShippingOption{ID: args[0], Name: args[2]}
	price, err := strconv.ParseInt(args[1], 10, 64)
	if err != nil || price < 0 {
		return shop.ShippingOption{}, d.Errf("shipping %s: invalid price '%s' (whole minor units: 4900 for 49.00, 0 for free)", args[0], args[1])
	}
	o.Price = price
	for rest := args[3:]; len(rest) > 0; {
		switch {
		case rest[0] == "default" && !o.Default:
			o.Default, rest = true, rest[1:]
		case rest[0] == "vat" && len(rest) > 1 && o.VAT == nil:
			v, err := shop.ParsePercent(rest[1])
			if err != nil {
				return shop.ShippingOption{}, d.Errf("shipping %s: invalid vat '%s'", args[0], rest[1])
			}
			o.VAT, rest = &v, rest[2:]
		default:
			return shop.ShippingOption{}, d.Errf("shipping %s: unexpected '%s'; %s", args[0], rest[0], usage)
		}
	}
	return o, nil
}

// Interface guards
var _ caddyfile.Unmarshaler = (*Handler)(nil)
