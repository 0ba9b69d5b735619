package qr_test

import (
	"bytes"
	"image/png"
	"testing"

	"github.com/caddy-vipps/caddy-vipps/internal/qr"
	"github.com/caddy-vipps/caddy-vipps/internal/qr/qrtest"
)

const address = "https://shop.example.com/vipps/pay/k7q2mz4xw9c3jt6ye8rb5nfa2hdgvup4"

func TestPNGReadsBackAsTheAddress(t *testing.T) {
	b, err := qr.PNG(address, 300)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != 300 || img.Bounds().Dy() != 300 {
		t.Fatalf("size %v, want 300×300", img.Bounds())
	}
	if got, err := qrtest.Decode(img); err != nil || got != address {
		t.Fatalf("the PNG reads %q (%v), want %q", got, err, address)
	}
	for _, size := range []int{99, qr.MaxPNGSize + 1} {
		if _, err := qr.PNG(address, size); err == nil {
			t.Errorf("size %d was accepted", size)
		}
	}
	if _, err := qr.PNG("", 300); err == nil {
		t.Error("an empty code was drawn")
	}
}

func TestSVGReadsBackAsTheAddress(t *testing.T) {
	b, err := qr.SVG(address, `Pay "here" & now`)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`aria-label="Pay &quot;here&quot; &amp; now"`)) {
		t.Fatalf("the label is not escaped: %s", b)
	}
	if got, err := qrtest.DecodeSVG(b); err != nil || got != address {
		t.Fatalf("the SVG reads %q (%v), want %q", got, err, address)
	}
}
