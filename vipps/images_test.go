package vipps_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddy-vipps/caddy-vipps/vipps"
	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestUploadImage uploads images to the simulator, which applies Order
// Management's rules, and names one in a category.
func TestUploadImage(t *testing.T) {
	s := sim.New(sim.Options{})
	srv := httptest.NewServer(s)
	t.Cleanup(func() { srv.Close(); s.Close() })
	c, err := vipps.New(vipps.Config{BaseURL: srv.URL, ClientID: "id", ClientSecret: "secret", SubscriptionKey: "key", MerchantSerialNumber: "123456"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.UploadImage(ctx, "socks-orange-123", pngOf(t, 400, 400)); err != nil {
		t.Fatal(err)
	}
	if err := c.UploadImage(ctx, "socks-orange-123", pngOf(t, 400, 400)); !vipps.IsConflict(err) {
		t.Fatalf("the same id again: %v, want a conflict", err)
	}
	err = c.UploadImage(ctx, "too-low", pngOf(t, 400, 100))
	var ve *vipps.Error
	if vipps.StatusCode(err) != 400 || !errors.As(err, &ve) || !strings.Contains(err.Error(), "167") {
		t.Fatalf("an image 100 pixels high: %v", err)
	}
	if err := c.PutCategory(ctx, vipps.PaymentTypeEcom, "order-000001", vipps.Category{Category: vipps.CategoryGeneral,
		OrderDetailsURL: "https://shop.example/orders/1", ImageID: "socks-orange-123"}); err != nil {
		t.Fatal(err)
	}
	if n := s.Stats().Images; n != 1 {
		t.Fatalf("%d images at the simulator", n)
	}
}

// TestUploadImageChecksItsArguments: a bad id, an empty image or one over 2
// MB is refused before anything is sent.
func TestUploadImageChecksItsArguments(t *testing.T) {
	c, err := vipps.New(vipps.Config{BaseURL: "http://127.0.0.1:1", ClientID: "id", ClientSecret: "secret", SubscriptionKey: "key", MerchantSerialNumber: "123456"})
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"empty id":    func() error { return c.UploadImage(context.Background(), "", []byte("x")) },
		"slash in id": func() error { return c.UploadImage(context.Background(), "a/b", []byte("x")) },
		"id too long": func() error { return c.UploadImage(context.Background(), strings.Repeat("a", 129), []byte("x")) },
		"empty image": func() error { return c.UploadImage(context.Background(), "ok", nil) },
		"over 2 MB":   func() error { return c.UploadImage(context.Background(), "ok", make([]byte, vipps.MaxImageSize+1)) },
	} {
		if err := call(); !errors.Is(err, vipps.ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", name, err)
		}
	}
}
