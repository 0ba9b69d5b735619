package shop

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// Charge is what a payment link or a sale at the counter asks a buyer to
// pay: catalog lines (priced from the catalog when the charge is made), or
// a free amount with a description and its VAT rate, for the receipt.
type Charge struct {
	// Lines are catalog SKUs and quantities; or else
	Lines []CartLine
	// Amount in minor units, VAT included, with Description and VAT.
	Amount int64
	// Description says what is paid: required with Amount (3-100
	// characters, it is the payment's description in the app), optional
	// with Lines (a summary of the lines by default).
	Description string
	// VAT is the rate of a free amount in percent, e.g. 25; it must be a
	// rate of the shop's market.
	VAT *float64
	// CaptureOnPayment charges as soon as the buyer has paid (a service,
	// nothing to ship), instead of when the merchant ships.
	CaptureOnPayment bool
	// Language names the catalog lines in the buyer's language (see
	// Product.NameIn); empty is the shop's default language.
	Language string
	// Order is an order that was not paid (its payment failed, was
	// rejected or expired): the link charges its lines and delivery at
	// that order's prices, so its buyer can pay again. Exclusive with
	// Lines and Amount.
	Order string
}

// FreeAmountSKU names the line of a free amount on orders and receipts.
const FreeAmountSKU = "amount"

// againShippingSKU names the line that charges an unpaid order's delivery
// again.
const againShippingSKU = "shipping"

// minimumAmount is the smallest payment Vipps takes per currency.
var minimumAmount = map[string]int64{"NOK": 100, "SEK": 100, "DKK": 1, "EUR": 1}

// price turns a charge into priced items, their total and the payment's
// description. Every refusal is an InputError naming the field.
func (s *Service) price(c Charge) ([]state.Item, int64, string, error) {
	desc := strings.Join(strings.Fields(c.Description), " ")
	if n := len([]rune(desc)); n > 100 || (desc != "" && n < 3) {
		return nil, 0, "", &InputError{Field: "description", Reason: "must be 3 to 100 characters (it is shown in the app)"}
	}
	switch {
	case c.Order != "" && (len(c.Lines) > 0 || c.Amount != 0 || c.VAT != nil):
		return nil, 0, "", &InputError{Field: "order", Reason: "give an order, lines, or an amount with its vat: only one"}
	case c.Order != "":
		return s.priceAgain(c.Order, desc)
	case len(c.Lines) > 0 && (c.Amount != 0 || c.VAT != nil):
		return nil, 0, "", &InputError{Field: "amount", Reason: "give either lines or an amount with its vat, not both"}
	case len(c.Lines) > 0:
		items, total, err := s.catalog.Price(c.Lines, c.Language)
		if err != nil {
			return nil, 0, "", err
		}
		if desc == "" {
			// What the link sells, not the shop's description of a cart.
			desc = fitDescription(summary(items))
		}
		return items, total, desc, nil
	case c.Amount == 0 && c.VAT == nil:
		return nil, 0, "", &InputError{Field: "lines", Reason: "say what is paid: catalog lines, or an amount with a description and its vat"}
	}
	currency := s.catalog.Currency()
	if min := minimumAmount[currency]; c.Amount < min || c.Amount > MaxAmount {
		return nil, 0, "", &InputError{Field: "amount", Reason: fmt.Sprintf("must be from %d to %d (minor units, VAT included: 10000 is 100.00)", min, MaxAmount)}
	}
	if desc == "" {
		return nil, 0, "", &InputError{Field: "description", Reason: "say what the amount is for (3 to 100 characters)"}
	}
	if c.VAT == nil {
		return nil, 0, "", &InputError{Field: "vat", Reason: "the VAT rate of the amount is required, for the receipt (e.g. 25, or 0)"}
	}
	rate, err := s.catalog.vatOf(c.VAT)
	if err != nil {
		return nil, 0, "", &InputError{Field: "vat", Reason: err.Error()}
	}
	return []state.Item{{SKU: FreeAmountSKU, Name: desc, Qty: 1, UnitPrice: c.Amount, VATRate: rate}}, c.Amount, desc, nil
}

// priceAgain is what a link for an unpaid order charges: the order's lines
// and its delivery as a line, at the order's prices.
func (s *Service) priceAgain(ref, desc string) ([]state.Item, int64, string, error) {
	o, err := s.Order(ref)
	if errors.Is(err, ErrNotFound) {
		return nil, 0, "", &InputError{Field: "order", Reason: fmt.Sprintf("there is no order %q", ref)}
	}
	if err != nil {
		return nil, 0, "", err
	}
	if err := payableAgain(o); err != nil {
		return nil, 0, "", err
	}
	items := slices.Clone(o.Items)
	if sh := o.Shipping; sh != nil && sh.Amount > 0 {
		items = append(items, state.Item{SKU: againShippingSKU, Name: sh.Name, Qty: 1, UnitPrice: sh.Amount, VATRate: sh.VATRate})
	}
	if desc == "" {
		desc = fitDescription(summary(items))
	}
	return items, o.Amount, desc, nil
}
