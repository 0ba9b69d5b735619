package caddyvipps

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	// The examples use file_server and the other standard directives.
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	"github.com/caddy-vipps/caddy-vipps/handlers"
	"github.com/caddy-vipps/caddy-vipps/shop"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	d := caddyfile.NewTestDispenser(`vipps {
		environment test
		client_id {env.VIPPS_CLIENT_ID}
		client_secret {env.VIPPS_CLIENT_SECRET}
		subscription_key {file./run/secrets/vipps}
		merchant_serial_number 123456
		api_url http://127.0.0.1:9190
		public_url https://shop.example.com
		base_path /pay
		reference_prefix shop-test
		currency NOK
		payment_description "Order from the shop"
		product socks 14900 "Wool socks" vat 25
		product book 34900 "Cookbook" vat 0
		product poster 19900 "Poster" collect address name
		catalog catalog.json
		success_url /thanks.html
		cancel_url /cart.html
		shop_name "Fjord & Fell"
		logo https://cdn.example.com/logo.svg
		admin_token {env.VIPPS_ADMIN_TOKEN}
		admin_users alice bob
		link_push
		data_dir /var/lib/vipps
		poll_interval 10s
		max_body_size 32KB
		timeout 20s
		buyer_retention 90d
		abandoned_retention 45d
		collect name address phone
		shipping mailbox 4900 "Mailbox" vat 25
		shipping home 9900 "Home delivery" default
		shipping pickup 0 "Pick up"
	}`)
	var h Handler
	if err := h.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	if h.Environment != "test" || h.ClientSecret != "{env.VIPPS_CLIENT_SECRET}" || h.BasePath != "/pay" ||
		len(h.Products) != 3 || strings.Join(h.Products[2].Collect, " ") != "address name" || h.Products[0].Price != 14900 || *h.Products[1].VAT != 0 ||
		h.MaxBodySize != 32000 || time.Duration(h.PollInterval) != 10*time.Second || len(h.AdminUsers) != 2 ||
		h.PaymentDescription != "Order from the shop" || h.CatalogFile != "catalog.json" ||
		strings.Join(h.Collect, ",") != "name,address,phone" || len(h.Shipping) != 3 || h.Shipping[0].Price != 4900 ||
		*h.Shipping[0].VAT != 25 || !h.Shipping[1].Default || h.Shipping[1].Name != "Home delivery" || h.Shipping[2].Price != 0 ||
		h.ShopName != "Fjord & Fell" || h.Logo != "https://cdn.example.com/logo.svg" || !h.LinkPush ||
		h.AbandonedRetention == nil || time.Duration(*h.AbandonedRetention) != 45*24*time.Hour {
		t.Fatalf("parsed %+v", h)
	}

	// Everything parsed survives the JSON round trip Caddy does.
	raw, err := json.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	var back Handler
	if err := caddy.StrictUnmarshalJSON(raw, &back); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(&back)
	if string(again) != string(raw) {
		t.Fatalf("round trip changed the config:\n%s\n%s", raw, again)
	}
	// Placeholders stay placeholders in the JSON: no secret is resolved at
	// adapt time.
	if !strings.Contains(string(raw), "{env.VIPPS_CLIENT_SECRET}") {
		t.Fatalf("placeholder lost: %s", raw)
	}
}

// TestAbandonedRetentionOff: "off" and 0 keep every order; without the
// option the default applies.
func TestAbandonedRetentionOff(t *testing.T) {
	for in, want := range map[string]time.Duration{"off": 0, "0": 0, "2d": 48 * time.Hour} {
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("vipps {\n\tabandoned_retention " + in + "\n}")); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if h.AbandonedRetention == nil || time.Duration(*h.AbandonedRetention) != want {
			t.Fatalf("%s: %v", in, h.AbandonedRetention)
		}
	}
	spec, err := ShopConfig{Products: []shop.Product{{SKU: "socks", Name: "Socks", Price: 100}}, DataDir: t.TempDir()}.prepare(DefaultShop)
	if err != nil || time.Duration(*spec.cfg.AbandonedRetention) != defaultAbandonedRetention {
		t.Fatalf("the default: %v", err)
	}
}

// TestProductNamesPerLanguage: "name <lang> <name>" names a product in a
// language of the pages, before or after its vat, and ahead of collect.
func TestProductNamesPerLanguage(t *testing.T) {
	d := caddyfile.NewTestDispenser(`vipps {
		product socks 14900 "Wool socks" name nb "Ullsokker" vat 25 name sv "Ullstrumpor" collect name
		product mug 19900 "Coffee mug"
	}`)
	var h Handler
	if err := h.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	socks, mug := h.Products[0], h.Products[1]
	if socks.Name != "Wool socks" || len(socks.Names) != 2 || socks.Names["nb"] != "Ullsokker" || socks.Names["sv"] != "Ullstrumpor" ||
		*socks.VAT != 25 || strings.Join(socks.Collect, " ") != "name" {
		t.Fatalf("socks = %+v", socks)
	}
	if mug.Names != nil {
		t.Fatalf("mug has names %v", mug.Names)
	}
	// The example catalog file names its products in every language.
	spec, err := (ShopConfig{CatalogFile: "examples/catalog.json", DataDir: t.TempDir()}).prepare(DefaultShop)
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range handlers.LanguageCodes() {
		if p, _ := spec.catalog.Lookup("book"); p.NameIn(lang) == "" || (lang != "en" && p.NameIn(lang) == p.Name) {
			t.Errorf("the example cookbook in %s is %q", lang, p.NameIn(lang))
		}
	}
	// A catalog file is checked against the pages' languages too.
	file := filepath.Join(t.TempDir(), "catalog.json")
	if err := os.WriteFile(file, []byte(`{"products":[{"sku":"socks","name":"Socks","names":{"de":"Socken"},"price":100}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (ShopConfig{CatalogFile: file, DataDir: t.TempDir()}).prepare(DefaultShop); err == nil ||
		!strings.Contains(err.Error(), `sku "socks": name language "de": use one of da, en, fi, nb, sv`) {
		t.Fatalf("a catalog file naming a product in German: %v", err)
	}
	// The JSON config carries them as "names".
	raw, err := json.Marshal(h.Products[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"names":{"nb":"Ullsokker","sv":"Ullstrumpor"}`) {
		t.Fatalf("product JSON %s", raw)
	}
}

func TestUnmarshalCaddyfileErrors(t *testing.T) {
	tests := []struct {
		name, input, want string
	}{
		{"two arguments", `vipps foo bar`, "wrong argument count"},
		{"bad shop name", `vipps Shop!`, "shop name \"Shop!\""},
		{"shop named twice", "vipps main {\n\tshop other\n}", "already named main"},
		// Errors name the line of the offending token, not the block's end.
		{"misspelt environment", "vipps {\n\tproduct socks 100 Socks\n\tenvironment simulater\n\tcurrency NOK\n}", "invalid environment 'simulater': use simulator, test or production, at Testfile:3"},
		{"vat of another market", "vipps {\n\tproduct socks 100 Socks vat 24\n\tproduct mug 100 Mug\n}", "known: 0, 12, 15, 25), at Testfile:2"},
		{"vat of another market after currency", "vipps {\n\tproduct socks 100 Socks\n\tproduct mug 100 Mug vat 25\n\tcurrency EUR\n}", "not a rate used with EUR (known: 0, 10, 13.5, 14, 24, 25.5), at Testfile:3"},
		{"public_url without scheme", "vipps {\n\tproduct socks 100 Socks\n\tpublic_url localhost:8080\n}", "must be an absolute http(s) URL such as https://shop.example.com, at Testfile:3"},
		{"public_url http in production", "vipps {\n\tenvironment production\n\tpublic_url http://shop.example.com\n}", "must use https in production, at Testfile:3"},
		{"credentials without environment", "vipps {\n\tproduct socks 100 Socks\n\tclient_id {env.ID}\n}", "environment is missing"},
		{"unknown currency", "vipps {\n\tcurrency USD\n}", "(use one of NOK, DKK, EUR, SEK), at Testfile:2"},
		{"unknown option", "vipps {\n\tcolour blue\n}", "unrecognized subdirective 'colour'"},
		{"duplicate option", "vipps {\n\tcurrency NOK\n\tcurrency DKK\n}", "currency already specified"},
		{"link_push with a value", "vipps {\n\tlink_push yes\n}", "wrong argument count"},
		{"abandoned_retention too short", "vipps {\n\tproduct socks 100 Socks\n\tabandoned_retention 1h\n}", "use at least 1d, or off (0) to keep orders that never moved money, at Testfile:3"},
		{"abandoned_retention not a duration", "vipps {\n\tabandoned_retention never\n}", "invalid abandoned_retention 'never'"},
		{"simulator_public with a value", "vipps {\n\tsimulator_public yes\n}", "wrong argument count"},
		{"simulator_listen without port", "vipps {\n\tproduct socks 100 Socks\n\tsimulator_listen localhost\n}", "use host:port, such as 127.0.0.1:9190 (or :9190 for every address), at Testfile:3"},
		{"simulator_listen port too high", "vipps {\n\tsimulator_listen 127.0.0.1:99999\n}", "simulator_listen \"127.0.0.1:99999\""},
		{"unknown language", "vipps {\n\tproduct socks 100 Socks\n\tlanguage no\n}", "language \"no\": use one of da, en, fi, nb, sv, at Testfile:3"},
		{"unknown brand", "vipps {\n\tbrand visa\n}", "brand \"visa\": use auto, vipps or mobilepay, at Testfile:2"},
		{"missing value", "vipps {\n\tpublic_url\n}", "wrong argument count"},
		{"bad environment", "vipps {\n\tenvironment staging\n}", "invalid environment"},
		{"decimal price", "vipps {\n\tproduct socks 149.00 Socks\n}", "whole minor units"},
		{"negative price", "vipps {\n\tproduct socks -1 Socks\n}", "invalid price"},
		{"product without name", "vipps {\n\tproduct socks 100\n}", "product needs"},
		{"bad vat keyword", "vipps {\n\tproduct socks 100 Socks tax 25\n}", "expected 'vat"},
		{"product collects junk", "vipps {\n\tproduct socks 100 Socks collect shoesize\n}", "cannot collect"},
		{"product collects nothing", "vipps {\n\tproduct socks 100 Socks vat 25 collect\n}", "expected 'vat"},
		{"unknown vat", "vipps {\n\tproduct socks 100 Socks vat 17\n}", "not a rate used"},
		{"duplicate sku", "vipps {\n\tproduct socks 100 Socks\n\tproduct socks 200 Other\n}", "listed twice"},
		{"bad duration", "vipps {\n\tpoll_interval soon\n}", "invalid poll_interval"},
		{"timeout past the hand-over", "vipps {\n\ttimeout 3m\n}", "timeout 3m0s: use at most 1m0s"},
		{"logo URL without host", "vipps {\n\tproduct socks 100 Socks\n\tlogo https://\n}", "logo \"https://\" is not a valid URL, at Testfile:3"},
		{"bad size", "vipps {\n\tmax_body_size lots\n}", "invalid max_body_size"},
		{"bad prefix", "vipps {\n\treference_prefix 9lives\n}", "reference prefix"},
		{"collect nothing", "vipps {\n\tcollect\n}", "wrong argument count"},
		{"collect unknown", "vipps {\n\tcollect name shoesize\n}", "cannot collect \"shoesize\""},
		{"shipping too short", "vipps {\n\tshipping home 100\n}", "shipping needs"},
		{"shipping decimal price", "vipps {\n\tshipping home 49.00 Home\n}", "whole minor units"},
		{"shipping negative price", "vipps {\n\tshipping home -1 Home\n}", "invalid price"},
		{"shipping junk", "vipps {\n\tshipping home 100 Home express\n}", "unexpected 'express'"},
		{"shipping two defaults", "vipps {\n\tshipping a 100 A default\n\tshipping b 100 B default\n}", "only one shipping option"},
		{"shipping twice", "vipps {\n\tshipping a 100 A\n\tshipping a 200 B\n}", "listed twice"},
		{"shipping vat", "vipps {\n\tcurrency DKK\n\tshipping a 100 A vat 12\n}", "not a rate used"},
		{"name in a language the pages lack", "vipps {\n\tproduct socks 100 Socks name de Socken\n}", "product socks: name language \"de\": use one of da, en, fi, nb, sv"},
		{"name in a language twice", "vipps {\n\tproduct socks 100 Socks name nb Sokker name nb Ullsokker\n}", "name nb is given twice"},
		{"name without its text", "vipps {\n\tproduct socks 100 Socks name nb\n}", "expected 'vat <percent>', 'name <lang> <name>'"},
		{"empty name in a language", "vipps {\n\tproduct socks 100 Socks name nb \" \"\n}", "name in nb is empty, at Testfile:2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Handler
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "Testfile:") {
				t.Fatalf("error %q has no file and line", err)
			}
		})
	}
}

// TestExamplesAdapt adapts every example Caddyfile and checks that the
// result is a config Caddy can decode, with the vipps handler in it.
func TestExamplesAdapt(t *testing.T) {
	for _, name := range []string{"examples/Caddyfile", "examples/Caddyfile.testenv"} {
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			adapter := caddyfile.Adapter{ServerType: httpcaddyfile.ServerType{}}
			out, warnings, err := adapter.Adapt(src, map[string]any{"filename": name})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range warnings {
				t.Errorf("warning: %s", w.String())
			}
			if !strings.Contains(string(out), `"handler":"vipps"`) {
				t.Fatalf("no vipps handler in %s", out)
			}
			var cfg caddy.Config
			if err := caddy.StrictUnmarshalJSON(out, &cfg); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(out), "demo-admin-token") {
				t.Fatal("a secret was baked into the JSON config")
			}
		})
	}
}

// TestTimeoutIsBoundedInJSON: a JSON config (which skips the Caddyfile's
// checks) with a timeout past the hand-over to the worker is refused too.
func TestTimeoutIsBoundedInJSON(t *testing.T) {
	products := []shop.Product{{SKU: "socks", Name: "Socks", Price: 100}}
	c := ShopConfig{Timeout: caddy.Duration(3 * time.Minute), Products: products}
	if _, err := c.prepare("default"); err == nil || !strings.Contains(err.Error(), "use at most 1m0s") {
		t.Fatalf("timeout 3m: %v", err)
	}
	c = ShopConfig{Timeout: caddy.Duration(time.Minute), Products: products}
	if _, err := c.prepare("default"); err != nil {
		t.Fatalf("timeout 1m: %v", err)
	}
}
