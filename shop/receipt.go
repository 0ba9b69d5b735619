package shop

import (
	"strconv"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// Receipt states of an order.
const (
	ReceiptQueued = "queued"
	ReceiptSent   = "sent"
	ReceiptFailed = "failed"
)

// BuildReceipt turns an order into the receipt Vipps shows in the app: one
// order line per item with its VAT, the delivery chosen in the app as a
// shipping line, and a bottom line. Each line's tax is
// taken out of the VAT-inclusive total (total × rate / (100 % + rate),
// rounded to the nearest minor unit), so the lines always add up to what the
// buyer paid.
func BuildReceipt(o *state.Order) vipps.Receipt {
	lines := make([]vipps.OrderLine, 0, len(o.Items))
	for _, it := range o.Items {
		total := it.UnitPrice * int64(it.Qty)
		tax := VATPortion(total, it.VATRate)
		rate := it.VATRate
		lines = append(lines, vipps.OrderLine{
			Name:                    it.Name,
			ID:                      it.SKU,
			TotalAmount:             total,
			TotalAmountExcludingTax: total - tax,
			TotalTaxAmount:          tax,
			TaxRate:                 &rate,
			UnitInfo: &vipps.UnitInfo{
				UnitPrice:    it.UnitPrice,
				Quantity:     strconv.Itoa(it.Qty),
				QuantityUnit: "PCS",
			},
		})
	}
	if sh := o.Shipping; sh != nil {
		tax := VATPortion(sh.Amount, sh.VATRate)
		rate := sh.VATRate
		lines = append(lines, vipps.OrderLine{
			Name:                    sh.Name,
			ID:                      sh.OptionID,
			TotalAmount:             sh.Amount,
			TotalAmountExcludingTax: sh.Amount - tax,
			TotalTaxAmount:          tax,
			TaxRate:                 &rate,
			UnitInfo:                &vipps.UnitInfo{UnitPrice: sh.Amount, Quantity: "1", QuantityUnit: "PCS"},
			IsShipping:              true,
		})
	}
	return vipps.Receipt{
		OrderLines: lines,
		BottomLine: vipps.BottomLine{Currency: o.Currency, ReceiptNumber: o.Reference},
	}
}

// VATPortion is the VAT contained in a VAT-inclusive amount at a rate in
// basis points, rounded half away from zero.
func VATPortion(total int64, rateBP int) int64 {
	if rateBP <= 0 || total <= 0 {
		return 0
	}
	num := total * int64(rateBP)
	den := int64(10000 + rateBP)
	return (2*num + den) / (2 * den)
}
