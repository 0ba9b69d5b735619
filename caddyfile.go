package caddyvipps

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"

	"github.com/caddy-vipps/caddy-vipps/shop"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("vipps", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("vipps", httpcaddyfile.Before, "respond")
	httpcaddyfile.RegisterGlobalOption("vipps", parseGlobalOption)
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	v := new(Handler)
	err := v.UnmarshalCaddyfile(h.Dispenser)
	return v, err
}

// parseGlobalOption reads the global vipps option, which defines shops:
//
//	{
//	    vipps {
//	        shop <name> {
//	            <shop options, as in a vipps block>
//	        }
//	    }
//	}
func parseGlobalOption(d *caddyfile.Dispenser, existing any) (any, error) {
	app := new(App)
	if existing != nil {
		prev, ok := existing.(httpcaddyfile.App)
		if !ok {
			return nil, d.Err("unexpected earlier vipps option")
		}
		if err := json.Unmarshal(prev.Value, app); err != nil {
			return nil, err
		}
	}
	d.Next() // vipps
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if d.Val() != "shop" {
			return nil, d.Errf("unrecognized vipps option '%s': the global vipps option holds 'shop <name> { ... }' blocks", d.Val())
		}
		var name string
		if !d.NextArg() {
			return nil, d.ArgErr()
		}
		name = d.Val()
		if err := checkShopName(name); err != nil {
			return nil, d.Err(err.Error())
		}
		if d.NextArg() {
			return nil, d.ArgErr()
		}
		if _, dup := app.Shops[name]; dup {
			return nil, d.Errf("shop %s is defined twice", name)
		}
		var cfg ShopConfig
		if err := cfg.unmarshalBlock(d, nil); err != nil {
			return nil, err
		}
		if app.Shops == nil {
			app.Shops = map[string]*ShopConfig{}
		}
		app.Shops[name] = &cfg
	}
	return httpcaddyfile.App{Name: "vipps", Value: caddyconfig.JSON(app, nil)}, nil
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	vipps [<shop>]
//
//	vipps [<shop>] {
//	    shop                   <name>          # instead of the argument
//	    environment            simulator|test|production
//	    simulator_listen       <host:port>
//	    simulator_public
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
//	    product                <sku> <price in minor units> <name> [vat <percent>] [name <lang> <name>...] [collect <detail>...]
//	    catalog                <file.json>
//	    collect                name|email|address|phone...
//	    shipping               <id> <price in minor units> <name> [default] [vat <percent>]
//	    success_url            <url>
//	    cancel_url             <url>
//	    shop_url               <url>
//	    shop_name              <name>
//	    logo                   <url or file>
//	    language               en|nb|da|sv|fi
//	    brand                  auto|vipps|mobilepay
//	    admin_token            <token>
//	    admin_users            <user> [<user>...]
//	    link_push
//	    notify_url             <url>
//	    notify_secret          <secret>
//	    data_dir               <path>
//	    poll_interval          <duration>
//	    max_body_size          <size>
//	    timeout                <duration>
//	    buyer_retention        <duration>
//	    abandoned_retention    <duration>|off
//	    store                  badger | postgres <dsn> [schema <name>]
//	}
//
// Without options the handler serves a shop defined in the global vipps
// option; with options it declares the shop itself (named "default"
// unless it says otherwise).
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		h.Shop = d.Val()
		if err := checkShopName(h.Shop); err != nil {
			return d.Err(err.Error())
		}
		if d.NextArg() {
			return d.ArgErr()
		}
	}
	return h.ShopConfig.unmarshalBlock(d, func(d *caddyfile.Dispenser) error {
		if h.Shop != "" {
			return d.Errf("the shop is already named %s", h.Shop)
		}
		if !d.AllArgs(&h.Shop) {
			return d.ArgErr()
		}
		if err := checkShopName(h.Shop); err != nil {
			return d.Err(err.Error())
		}
		return nil
	})
}

// unmarshalBlock reads a block of shop options. The "shop" line goes to
// onShop (a handler block's way to name its shop); elsewhere it is refused.
// Every error names the line of the offending token.
func (c *ShopConfig) unmarshalBlock(d *caddyfile.Dispenser, onShop func(*caddyfile.Dispenser) error) error {
	texts := map[string]*string{
		"environment":            &c.Environment,
		"simulator_listen":       &c.SimulatorListen,
		"client_id":              &c.ClientID,
		"client_secret":          &c.ClientSecret,
		"subscription_key":       &c.SubscriptionKey,
		"merchant_serial_number": &c.MerchantSerialNumber,
		"api_url":                &c.APIURL,
		"public_url":             &c.PublicURL,
		"base_path":              &c.BasePath,
		"reference_prefix":       &c.ReferencePrefix,
		"currency":               &c.Currency,
		"payment_description":    &c.PaymentDescription,
		"catalog":                &c.CatalogFile,
		"success_url":            &c.SuccessURL,
		"cancel_url":             &c.CancelURL,
		"shop_url":               &c.ShopURL,
		"shop_name":              &c.ShopName,
		"logo":                   &c.Logo,
		"language":               &c.Language,
		"brand":                  &c.Brand,
		"admin_token":            &c.AdminToken,
		"data_dir":               &c.DataDir,
		"notify_url":             &c.NotifyURL,
		"notify_secret":          &c.NotifySecret,
	}
	durations := map[string]*caddy.Duration{
		"poll_interval":   &c.PollInterval,
		"timeout":         &c.Timeout,
		"buyer_retention": &c.BuyerRetention,
	}
	seen := map[string]caddyfile.Token{}
	var productTokens, shippingTokens []caddyfile.Token
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		if _, dup := seen[opt]; dup && opt != "product" && opt != "shipping" {
			return d.Errf("%s already specified", opt)
		}
		seen[opt] = d.Token()
		if opt == "shop" {
			if onShop == nil {
				return d.Err("a shop defined in the global vipps option is named by its block: shop <name> { ... }")
			}
			if err := onShop(d); err != nil {
				return err
			}
			continue
		}
		if target, ok := texts[opt]; ok {
			if !d.AllArgs(target) {
				return d.ArgErr()
			}
			if err := checkText(opt, *target); err != nil {
				return d.Err(err.Error())
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
			c.Products = append(c.Products, p)
			productTokens = append(productTokens, d.Token())
		case "shipping":
			o, err := parseShipping(d)
			if err != nil {
				return err
			}
			c.Shipping = append(c.Shipping, o)
			shippingTokens = append(shippingTokens, d.Token())
		case "collect":
			values := d.RemainingArgs()
			if len(values) == 0 {
				return d.ArgErr()
			}
			if _, err := shop.ParseCollect(values); err != nil {
				return d.Err(err.Error())
			}
			c.Collect = values
		case "store":
			raw, err := parseStore(d)
			if err != nil {
				return err
			}
			c.StoreRaw = raw
		case "abandoned_retention":
			var v string
			if !d.AllArgs(&v) {
				return d.ArgErr()
			}
			dur := time.Duration(0)
			if v != "off" {
				var err error
				if dur, err = caddy.ParseDuration(v); err != nil || dur < 0 {
					return d.Errf("invalid abandoned_retention '%s': use a duration such as 30d, or off", v)
				}
			}
			if err := checkAbandonedRetention(dur); err != nil {
				return d.Err(err.Error())
			}
			c.AbandonedRetention = (*caddy.Duration)(&dur)
		case "link_push":
			if d.NextArg() {
				return d.ArgErr()
			}
			c.LinkPush = true
		case "simulator_public":
			if d.NextArg() {
				return d.ArgErr()
			}
			c.SimulatorPublic = true
		case "admin_users":
			users := d.RemainingArgs()
			if len(users) == 0 {
				return d.ArgErr()
			}
			c.AdminUsers = append(c.AdminUsers, users...)
		case "max_body_size":
			var s string
			if !d.AllArgs(&s) {
				return d.ArgErr()
			}
			size, err := humanize.ParseBytes(s)
			if err != nil || size == 0 || size > 1<<30 {
				return d.Errf("invalid max_body_size '%s': use a size such as 64KB", s)
			}
			c.MaxBodySize = int64(size)
		default:
			return d.Errf("unrecognized subdirective '%s'", opt)
		}
	}
	// What depends on more than one line is checked once the block is
	// read, and reported at the line that does not fit.
	if err := c.checkEnvironment(); err != nil {
		tok, ok := seen["environment"]
		if !ok {
			for _, name := range []string{"client_id", "client_secret", "subscription_key", "merchant_serial_number"} {
				if t, has := seen[name]; has {
					tok = t
					break
				}
			}
		}
		return errAt(tok, err)
	}
	if c.PublicURL != "" {
		env := c.Environment
		if env == "" {
			env = EnvSimulator
		}
		if err := checkPublicURL(c.PublicURL, env); err != nil {
			return errAt(seen["public_url"], err)
		}
	}
	return c.checkCatalogLines(seen, productTokens, shippingTokens)
}

// checkText checks the options whose value alone can be wrong.
func checkText(opt, v string) error {
	switch opt {
	case "environment":
		return ShopConfig{Environment: v}.checkEnvironment()
	case "reference_prefix":
		return shop.ValidatePrefix(v)
	case "public_url":
		return checkPublicURL(v, "")
	case "logo":
		return checkLogo(v)
	case "language":
		return checkLanguage(v)
	case "brand":
		return checkBrand(v)
	case "simulator_listen":
		return checkListen(v)
	case "currency":
		if _, err := shop.NewCatalog(v, nil); err != nil {
			return err
		}
	}
	return nil
}

// checkCatalogLines checks the products and shipping options against the
// shop's currency (which may come after them) and reports the line of the
// first one that does not fit.
func (c *ShopConfig) checkCatalogLines(seen map[string]caddyfile.Token, products, shipping []caddyfile.Token) error {
	currency := c.Currency
	if currency == "" {
		currency = "NOK"
	}
	cat, err := shop.NewCatalog(currency, nil)
	if err != nil {
		return errAt(seen["currency"], err)
	}
	for i, p := range c.Products {
		if err := cat.Add(p); err != nil {
			return errAt(products[i], err)
		}
	}
	for i := range c.Shipping {
		if err := cat.SetShipping(c.Shipping[:i+1]); err != nil {
			return errAt(shipping[i], err)
		}
	}
	return nil
}

// errAt reports err at a token's line, as Caddy's own errors do.
func errAt(tok caddyfile.Token, err error) error {
	if tok.File == "" {
		return err
	}
	return fmt.Errorf("%w, at %s:%d", err, tok.File, tok.Line)
}

// parseStore reads: store badger | store postgres <dsn> [schema <name>]
func parseStore(d *caddyfile.Dispenser) (json.RawMessage, error) {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return nil, d.ArgErr()
	}
	switch args[0] {
	case "badger":
		if len(args) != 1 {
			return nil, d.Err("store badger takes no arguments: the database is in data_dir")
		}
		return caddyconfig.JSONModuleObject(BadgerEngine{}, "engine", "badger", nil), nil
	case "postgres":
		p := PostgresEngine{}
		switch {
		case len(args) == 2:
		case len(args) == 4 && args[2] == "schema":
			if !postgresSchema.MatchString(args[3]) {
				return nil, d.Errf("store postgres: schema '%s': use lower-case letters, digits and '_'", args[3])
			}
			p.Schema = args[3]
		default:
			return nil, d.Err("store postgres needs: <dsn> [schema <name>], e.g. store postgres {env.VIPPS_DATABASE_URL}")
		}
		p.DSN = args[1]
		if !strings.Contains(p.DSN, "{") && strings.Contains(p.DSN, "@") && strings.Contains(strings.SplitN(p.DSN, "@", 2)[0], ":") {
			return nil, d.Err("store postgres: the connection string holds a password: give it as {env.*} or {file.*}, never in the config")
		}
		return caddyconfig.JSONModuleObject(p, "engine", "postgres", nil), nil
	}
	return nil, d.Errf("unknown store '%s': use badger or postgres", args[0])
}

var postgresSchema = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// parseProduct reads: product <sku> <price in minor units> <name> [vat <percent>] [name <lang> <name>...] [collect <detail>...]
//
// The first name is in the shop's default language; each "name <lang>
// <name>" names the product in another language of the pages.
func parseProduct(d *caddyfile.Dispenser) (shop.Product, error) {
	const usage = "product needs: <sku> <price in minor units> <name> [vat <percent>] [name <lang> <name>...] [collect <detail>...]"
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
		case rest[0] == "name" && len(rest) > 2:
			lang, name := rest[1], rest[2]
			if err := checkLanguage(lang); err != nil {
				return shop.Product{}, d.Errf("product %s: name %v", args[0], err)
			}
			if _, dup := p.Names[lang]; dup {
				return shop.Product{}, d.Errf("product %s: name %s is given twice", args[0], lang)
			}
			if p.Names == nil {
				p.Names = map[string]string{}
			}
			p.Names[lang], rest = name, rest[3:]
		case rest[0] == "collect" && len(rest) > 1 && p.Collect == nil:
			if _, err := shop.ParseCollect(rest[1:]); err != nil {
				return shop.Product{}, d.Errf("product %s: %v", args[0], err)
			}
			p.Collect, rest = rest[1:], nil
		default:
			return shop.Product{}, d.Errf("product %s: expected 'vat <percent>', 'name <lang> <name>' or 'collect <detail>...', got '%s'", args[0], rest[0])
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
