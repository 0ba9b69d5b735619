package shop

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Product is one thing the shop sells. Its price is the only price the shop
// ever charges: whatever a browser sends is ignored.
type Product struct {
	// SKU identifies the product in buy-button forms (field "sku"). Letters,
	// digits, '-', '_' and '.', at most 64 characters.
	SKU string `json:"sku"`

	// Name is shown to the buyer on the pages, receipts and in the Vipps
	// app. It is the name in the shop's default language (the shop's
	// `language`), and the name of every language Names leaves out.
	Name string `json:"name"`

	// Names gives the product's name in other languages, by language
	// code: {"nb": "Ullsokker", "en": "Wool socks"}. A buyer whose pages
	// are in one of them sees, pays for and gets a receipt for the
	// product under that name. The codes are those of the built-in pages
	// (en, nb, da, sv, fi).
	Names map[string]string `json:"names,omitempty"`

	// Price is the unit price in minor units (øre, cents), VAT included.
	Price int64 `json:"price"`

	// VAT is the VAT rate in percent, e.g. 25 or 25.5. Default: the standard
	// rate of the shop's currency (NOK 25, SEK 25, DKK 25, EUR 25.5).
	VAT *float64 `json:"vat,omitempty"`

	// Collect asks buyers of this product to share profile details with
	// the shop through Vipps: any of name, email, address, phone. Default:
	// the shop-wide setting.
	Collect []string `json:"collect,omitempty"`
}

// Catalog is the shop's price list, keyed by SKU. It is validated once, when
// the configuration is loaded.
type Catalog struct {
	currency string
	products map[string]Product
	order    []string
	shipping []ShippingOption
}

// CatalogFile is the JSON shape of a catalog file.
type CatalogFile struct {
	Currency string           `json:"currency,omitempty"`
	Products []Product        `json:"products"`
	Shipping []ShippingOption `json:"shipping,omitempty"`
	// Collect asks every buyer to share these profile details (see
	// ParseCollect).
	Collect []string `json:"collect,omitempty"`
}

var skuPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// languagePattern is the form of a language code: two or three lower-case
// letters. Which languages the shop speaks is the pages' business; the
// configuration checks a code against them.
var languagePattern = regexp.MustCompile(`^[a-z]{2,3}$`)

// maxNameBytes bounds a product's name in any language.
const maxNameBytes = 200

// checkName checks one of a product's names in another language.
func checkName(lang, name string) error {
	if !languagePattern.MatchString(lang) {
		return fmt.Errorf("name language %q: use a language code such as nb or en", lang)
	}
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("name in %s is empty", lang)
	}
	if len(name) > maxNameBytes {
		return fmt.Errorf("name in %s is longer than %d bytes", lang, maxNameBytes)
	}
	return nil
}

// NameIn is the product's name in language lang: its name in Names, or
// else Name, the name in the shop's default language.
func (p Product) NameIn(lang string) string {
	if n, ok := p.Names[lang]; ok {
		return n
	}
	return p.Name
}

// MaxAmount is the largest payment Vipps accepts, in minor units.
const MaxAmount = 65_000_000

// knownVAT lists the VAT rates (in basis points) in use in each currency's
// markets: Norway (NOK), Sweden (SEK), Denmark (DKK) and Finland (EUR).
var knownVAT = map[string][]int{
	"NOK": {0, 1200, 1500, 2500},
	"SEK": {0, 600, 1200, 2500},
	"DKK": {0, 2500},
	"EUR": {0, 1000, 1350, 1400, 2400, 2550},
}

// standardVAT is the default rate per currency, in basis points.
var standardVAT = map[string]int{"NOK": 2500, "SEK": 2500, "DKK": 2500, "EUR": 2550}

// Currencies lists the currencies the shop can sell in.
var Currencies = []string{"NOK", "DKK", "EUR", "SEK"}

// NewCatalog validates products and builds a catalog in the given currency:
// SKUs must be unique and well formed, names non-empty, prices positive and
// at most MaxAmount, and VAT rates ones used in the currency's market.
func NewCatalog(currency string, products []Product) (*Catalog, error) {
	if !slices.Contains(Currencies, currency) {
		return nil, fmt.Errorf("currency %q is not supported (use one of %s)", currency, strings.Join(Currencies, ", "))
	}
	c := &Catalog{currency: currency, products: make(map[string]Product, len(products))}
	for i, p := range products {
		if err := c.add(p); err != nil {
			return nil, fmt.Errorf("product %d: %w", i+1, err)
		}
	}
	return c, nil
}

// Add adds one product, with the checks of NewCatalog.
func (c *Catalog) Add(p Product) error { return c.add(p) }

func (c *Catalog) add(p Product) error {
	if !skuPattern.MatchString(p.SKU) {
		return fmt.Errorf("sku %q: use 1-64 letters, digits, '.', '_' or '-'", p.SKU)
	}
	if _, dup := c.products[p.SKU]; dup {
		return fmt.Errorf("sku %q is listed twice", p.SKU)
	}
	if strings.TrimSpace(p.Name) == "" {
		return fmt.Errorf("sku %q: name is empty", p.SKU)
	}
	if len(p.Name) > maxNameBytes {
		return fmt.Errorf("sku %q: name is longer than %d bytes", p.SKU, maxNameBytes)
	}
	for _, lang := range slices.Sorted(maps.Keys(p.Names)) {
		if err := checkName(lang, p.Names[lang]); err != nil {
			return fmt.Errorf("sku %q: %w", p.SKU, err)
		}
	}
	if p.Price <= 0 || p.Price > MaxAmount {
		return fmt.Errorf("sku %q: price %d must be between 1 and %d minor units", p.SKU, p.Price, MaxAmount)
	}
	if _, err := c.vatBasisPoints(p); err != nil {
		return fmt.Errorf("sku %q: %w", p.SKU, err)
	}
	if _, err := ParseCollect(p.Collect); err != nil {
		return fmt.Errorf("sku %q: %w", p.SKU, err)
	}
	c.products[p.SKU] = p
	c.order = append(c.order, p.SKU)
	return nil
}

func (c *Catalog) vatBasisPoints(p Product) (int, error) { return c.vatOf(p.VAT) }

// vatOf checks a VAT percentage against the currency's market and returns
// it in basis points; nil is the standard rate.
func (c *Catalog) vatOf(vat *float64) (int, error) {
	if vat == nil {
		return standardVAT[c.currency], nil
	}
	v := *vat
	if math.IsNaN(v) || v < 0 || v > 100 {
		return 0, fmt.Errorf("vat %v%% is out of range", v)
	}
	bp := int(math.Round(v * 100))
	if !slices.Contains(knownVAT[c.currency], bp) {
		known := make([]string, 0, len(knownVAT[c.currency]))
		for _, k := range knownVAT[c.currency] {
			known = append(known, FormatPercent(k))
		}
		return 0, fmt.Errorf("vat %v%% is not a rate used with %s (known: %s)", v, c.currency, strings.Join(known, ", "))
	}
	return bp, nil
}

// Currency is the catalog's currency.
func (c *Catalog) Currency() string { return c.currency }

// Lookup returns the product with the given SKU.
func (c *Catalog) Lookup(sku string) (Product, bool) {
	p, ok := c.products[sku]
	return p, ok
}

// VATBasisPoints returns a product's VAT rate in basis points (2500 = 25 %).
func (c *Catalog) VATBasisPoints(p Product) int {
	bp, _ := c.vatBasisPoints(p)
	return bp
}

// Products lists the catalog in the order it was defined.
func (c *Catalog) Products() []Product {
	out := make([]Product, 0, len(c.order))
	for _, sku := range c.order {
		out = append(out, c.products[sku])
	}
	return out
}

// Len is the number of products.
func (c *Catalog) Len() int { return len(c.products) }

// ReadCatalogFile reads products from a JSON catalog file. If the file names
// a currency, it must match the shop's.
func ReadCatalogFile(path string) (*CatalogFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading catalog: %w", err)
	}
	return ParseCatalog(data)
}

// ParseCatalog decodes a JSON catalog. Unknown fields are an error so that a
// misspelt "prise" does not silently become a free product.
func ParseCatalog(data []byte) (*CatalogFile, error) {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var f CatalogFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("decoding catalog: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("decoding catalog: trailing data after the catalog object")
	}
	return &f, nil
}

// ParsePercent parses a VAT percentage such as "25", "25.5" or "25%".
func ParsePercent(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("invalid percentage %q", s)
	}
	return v, nil
}

// FormatPercent formats basis points as a percentage: 2550 → "25.5".
func FormatPercent(bp int) string {
	return strconv.FormatFloat(float64(bp)/100, 'f', -1, 64)
}

// VATRates lists the VAT rates (in basis points) used in a currency's
// market, lowest first.
func VATRates(currency string) []int { return slices.Clone(knownVAT[currency]) }

// StandardVAT is a currency's standard VAT rate, in basis points.
func StandardVAT(currency string) int { return standardVAT[currency] }
