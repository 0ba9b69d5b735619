package caddyvipps

import (
	"encoding/json"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-vipps/caddy-vipps/shop"
)

// ShopConfig configures one shop: its Vipps sales unit, catalog, pages,
// merchant access and order database. A shop is defined once — in the
// vipps app (apps.vipps.shops, or the Caddyfile's global vipps option), or
// by a vipps handler block that carries these options itself — and served
// by any number of sites.
type ShopConfig struct {
	// Environment selects the Vipps API: "production" (https://api.vipps.no),
	// "test" (https://apitest.vipps.no) or "simulator", which runs the
	// embedded Vipps simulator on SimulatorListen and needs no credentials.
	// Default: simulator, unless credentials are given: then it must be
	// named.
	Environment string `json:"environment,omitempty"`

	// SimulatorListen is the address of the embedded simulator. The buyer's
	// browser opens its landing page, so it must be reachable from there.
	// Shops on the same address share one simulator, which keeps its
	// payments in "simulator" inside the data directory of the shop that
	// starts it, and answers its control API (/_sim/) only from the same
	// machine. An address other than loopback needs SimulatorPublic.
	// Default: 127.0.0.1:9190.
	SimulatorListen string `json:"simulator_listen,omitempty"`

	// SimulatorPublic allows SimulatorListen on an address other than
	// loopback (":9190", "0.0.0.0:9190", a LAN address), e.g. for phones on
	// the shop's network to open its landing page or scan the kiosk's QR
	// code. The simulated Vipps API is then open to that network, so the
	// shop must name its own client_id, client_secret and subscription_key
	// (placeholders welcome), and the simulator gives access tokens only
	// for them: without a token no one reads payments or touches the
	// webhook registration. Without it, a simulator_listen that is not on
	// loopback is a config error. Default: false.
	SimulatorPublic bool `json:"simulator_public,omitempty"`

	// ClientID of the sales unit's API keys. Accepts placeholders.
	ClientID string `json:"client_id,omitempty"`

	// ClientSecret of the sales unit's API keys. Use a placeholder such as
	// {env.VIPPS_CLIENT_SECRET} or {file./run/secrets/vipps}: a literal value
	// would be stored in the JSON config.
	ClientSecret string `json:"client_secret,omitempty"`

	// SubscriptionKey is the Ocp-Apim-Subscription-Key. Use a placeholder.
	SubscriptionKey string `json:"subscription_key,omitempty"`

	// MerchantSerialNumber (MSN) of the sales unit. Accepts placeholders.
	MerchantSerialNumber string `json:"merchant_serial_number,omitempty"`

	// APIURL overrides the API base URL for test and production, e.g. a
	// standalone simulator (cmd/vipps-sim) or a recording proxy.
	APIURL string `json:"api_url,omitempty"`

	// PublicURL is the shop's external base URL, e.g.
	// https://shop.example.com. The returnUrl and the webhook URL are built
	// from it, never from a request's Host header, and webhooks are verified
	// against it, so a proxy or CDN in front may rewrite Host and path. A
	// path in it (https://example.com/shop) is a prefix that a proxy in
	// front strips: every address the shop gives a browser or Vipps starts
	// with it, then BasePath. Its scheme and host are the origin the
	// merchant's browser requests must come from. Required outside the
	// simulator, where it must be https; the simulator derives it from the
	// address of the site that serves the shop (":8080" →
	// http://localhost:8080).
	PublicURL string `json:"public_url,omitempty"`

	// BasePath is where the endpoints live, as the requests reach Caddy
	// (after a proxy in front has stripped the path of PublicURL).
	// Default: /vipps.
	BasePath string `json:"base_path,omitempty"`

	// ReferencePrefix starts every order reference; use a different one per
	// shop and environment. A letter followed by up to 24 letters, digits or
	// '-'. Default: "order".
	ReferencePrefix string `json:"reference_prefix,omitempty"`

	// Currency of the shop: NOK, DKK, EUR or SEK. Default: NOK.
	Currency string `json:"currency,omitempty"`

	// PaymentDescription is shown in the Vipps app (3-100 characters),
	// in every language. Default: a summary of the items in the buyer's
	// language.
	PaymentDescription string `json:"payment_description,omitempty"`

	// Products is the inline catalog. Prices are in minor units (øre,
	// cents), VAT included.
	Products []shop.Product `json:"products,omitempty"`

	// CatalogFile is a JSON catalog ({"products":[{"sku","name","names",
	// "price","vat","collect"}],"shipping":[...],"collect":[...]}) loaded at
	// provision time, in addition to Products, Shipping and Collect.
	CatalogFile string `json:"catalog_file,omitempty"`

	// Collect asks every buyer to share these profile details with the shop
	// through Vipps (profile sharing, with consent in the app): any of name,
	// email, address, phone. Products can ask for more. The details are
	// stored apart from the order, kept for BuyerRetention, shown to the
	// merchant and never logged. Default: nothing.
	Collect []string `json:"collect,omitempty"`

	// Shipping lists fixed delivery options ({"id","name","price","vat",
	// "default","brand","type","estimated_delivery"}; prices in minor units,
	// VAT included). With shipping options every checkout is a Vipps
	// Express payment: the buyer picks delivery and shares name, address,
	// email and phone number in the app, and authorizes goods plus
	// delivery. Default: none.
	Shipping []shop.ShippingOption `json:"shipping,omitempty"`

	// SuccessURL is where buyers go after a confirmed payment, with
	// ?reference=R appended. Default: a built-in confirmation page.
	SuccessURL string `json:"success_url,omitempty"`

	// CancelURL is where buyers go after a cancelled, rejected or expired
	// payment, with ?reference=R appended. Default: a built-in page with a
	// way to try again.
	CancelURL string `json:"cancel_url,omitempty"`

	// Language of the built-in pages (confirmation, waiting, cancel, error
	// and admin pages) when the browser's Accept-Language names none of en,
	// nb, da, sv and fi. Default: en.
	Language string `json:"language,omitempty"`

	// Brand shown to buyers on the built-in pages: auto, vipps or
	// mobilepay. auto picks by currency: NOK and SEK → Vipps, DKK and EUR →
	// MobilePay. Default: auto.
	Brand string `json:"brand,omitempty"`

	// ShopURL is the link back to the shop on built-in pages. Default: the
	// path of PublicURL with a slash (/, or /shop/ for
	// https://example.com/shop).
	ShopURL string `json:"shop_url,omitempty"`

	// ShopName is the shop's name, shown at the top of every built-in page
	// (confirmation, waiting, cancel, error and admin pages) and in their
	// titles ("Thank you for your order · Fjord & Fell"). Default: none.
	ShopName string `json:"shop_name,omitempty"`

	// Logo is the shop's logo on every built-in page, beside its name: an
	// http(s) URL, used as it is, or the path of an image file (PNG, JPEG,
	// GIF, WebP or SVG, at most 512 KiB) that the shop reads when the
	// config loads and serves at {base_path}/logo. For an image of your own
	// site, give its full URL. Default: none.
	Logo string `json:"logo,omitempty"`

	// AdminToken authorises the merchant endpoints (ship, cancel, refund) as
	// "Authorization: Bearer <token>". Use a placeholder. Without it, the
	// merchant endpoints answer 403, unless a request was authenticated by
	// Caddy itself (basic_auth, forward_auth) before reaching this handler.
	AdminToken string `json:"admin_token,omitempty"`

	// AdminUsers are users authenticated by Caddy itself (basic_auth or
	// forward_auth in front of this handler, which set {http.auth.user.id})
	// who may use the merchant endpoints without the admin token. Browsers
	// send such credentials by themselves, so a request of theirs that
	// changes something must come from the shop's own pages
	// (Sec-Fetch-Site, or an Origin or Referer of PublicURL's origin or the
	// request's own) and send JSON to the API; see the README's security
	// model.
	AdminUsers []string `json:"admin_users,omitempty"`

	// LinkPush offers buyers on a payment link's page to type their phone
	// number and get the payment pushed to their app (Vipps' userFlow
	// PUSH_MESSAGE) instead of going to Vipps. The sales unit must be
	// approved by Vipps to skip the landing page; without it Vipps
	// refuses every push (the page then says so). Default: off.
	LinkPush bool `json:"link_push,omitempty"`

	// NotifyURL receives a signed JSON POST (see the README for the
	// signature scheme) for every change of an order's status, sent through
	// the outbox with retries. Failures show on the admin page.
	NotifyURL string `json:"notify_url,omitempty"`

	// NotifySecret signs the notifications (HMAC-SHA256). Required with
	// notify_url; use a placeholder.
	NotifySecret string `json:"notify_secret,omitempty"`

	// StoreRaw chooses where the shop keeps its orders: the embedded
	// Badger database in DataDir ({"engine": "badger"}, the default), or
	// PostgreSQL ({"engine": "postgres", "dsn": "{env.VIPPS_DATABASE_URL}"})
	// for a shop served by several Caddy instances.
	StoreRaw json.RawMessage `json:"store,omitempty" caddy:"namespace=vipps.stores inline_key=engine"`

	// DataDir holds the shop's order database; each shop needs its own.
	// Default: "vipps/shops/<shop name>" in Caddy's data directory (a shop
	// that kept its orders in "vipps" there before keeps them there).
	// Created with mode 0700.
	DataDir string `json:"data_dir,omitempty"`

	// PollInterval is how often pending orders are looked for. Default: 5s.
	PollInterval caddy.Duration `json:"poll_interval,omitempty"`

	// MaxBodySize caps request bodies, in bytes. Default: 64 KiB.
	MaxBodySize int64 `json:"max_body_size,omitempty"`

	// Timeout bounds each call to Vipps, retries included. Default: 15s; at
	// most 1m. The background worker takes over an operation whose answer
	// did not come after twice this plus 10s, so it never sends it while
	// the request that started it still does.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	// BuyerRetention is how long buyer details (phone number, name,
	// address) are kept; order amounts and items stay. Default: 30 days.
	BuyerRetention caddy.Duration `json:"buyer_retention,omitempty"`

	// AbandonedRetention is how long an order that never moved money is
	// kept: one whose payment failed, was rejected, expired or was
	// cancelled before the buyer approved, with nothing ever authorized.
	// Older ones are deleted with their buyer details, jobs and place in
	// their payment link, every few minutes; an order with any amount
	// authorized, captured, cancelled or refunded is never deleted. 0
	// keeps them all (Caddyfile: off). At least 1 day. Default: 30 days.
	AbandonedRetention *caddy.Duration `json:"abandoned_retention,omitempty"`
}
