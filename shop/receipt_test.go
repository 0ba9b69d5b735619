package shop

import (
	"testing"

	"github.com/caddy-vipps/caddy-vipps/state"
)

func TestVATPortion(t *testing.T) {
	tests := []struct {
		total int64
		rate  int
		want  int64
	}{
		{12500, 2500, 2500}, // 125.00 incl. 25 % → 25.00 VAT
		{14900, 2500, 2980},
		{11500, 1500, 1500},
		{10000, 0, 0},
		{1, 2500, 0},
		{3, 2500, 1}, // 0.6 rounds to 1
		{12550, 2550, 2550},
	}
	for _, tt := range tests {
		if got := VATPortion(tt.total, tt.rate); got != tt.want {
			t.Errorf("VATPortion(%d, %d) = %d, want %d", tt.total, tt.rate, got, tt.want)
		}
	}
}

func TestBuildReceipt(t *testing.T) {
	o := &state.Order{Reference: "demo-abc12345", Currency: "NOK", Items: []state.Item{
		{SKU: "socks", Name: "Wool socks", Qty: 2, UnitPrice: 14900, VATRate: 2500},
		{SKU: "book", Name: "Cookbook", Qty: 1, UnitPrice: 34900, VATRate: 0},
	}}
	r := BuildReceipt(o)
	if len(r.OrderLines) != 2 || r.BottomLine.Currency != "NOK" || r.BottomLine.ReceiptNumber != o.Reference {
		t.Fatalf("receipt = %+v", r)
	}
	var sum int64
	for _, l := range r.OrderLines {
		if l.TotalAmount != l.TotalAmountExcludingTax+l.TotalTaxAmount {
			t.Errorf("line %s does not add up: %+v", l.ID, l)
		}
		if l.TaxRate == nil || l.UnitInfo == nil {
			t.Errorf("line %s lacks tax rate or unit info", l.ID)
		}
		sum += l.TotalAmount
	}
	if sum != 2*14900+34900 {
		t.Errorf("lines sum to %d", sum)
	}
	if r.OrderLines[0].TotalTaxAmount != 5960 || *r.OrderLines[0].TaxRate != 2500 || r.OrderLines[0].UnitInfo.Quantity != "2" {
		t.Errorf("socks line = %+v", r.OrderLines[0])
	}
	if r.OrderLines[1].TotalTaxAmount != 0 {
		t.Errorf("zero-rated line has tax: %+v", r.OrderLines[1])
	}
}

func TestCaptureDeadline(t *testing.T) {
	at := mustTime("2026-01-10T12:00:00Z")
	if got := CaptureDeadline("NOK", at); !got.Equal(mustTime("2026-07-09T12:00:00Z")) {
		t.Errorf("NOK deadline = %v", got)
	}
	if got := CaptureDeadline("DKK", at); !got.Equal(mustTime("2026-01-24T12:00:00Z")) {
		t.Errorf("DKK deadline = %v", got)
	}
}
