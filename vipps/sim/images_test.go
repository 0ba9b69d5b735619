package sim_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"net/http"
	"strings"
	"testing"
)

// TestImageUpload follows Order Management's rules for images: a PNG or
// JPEG in base64, at most 2 MB, at least 167 pixels high, an id of the
// allowed characters, never replaced; a category names an uploaded image.
func TestImageUpload(t *testing.T) {
	e := newEnv(t)
	upload := func(id, src, typ string) (int, string) {
		t.Helper()
		status, body := e.raw(t, http.MethodPost, "/order-management/v1/images",
			fmt.Sprintf(`{"imageId":%q,"src":%q,"type":%q}`, id, src, typ), nil)
		return status, string(body)
	}
	b64 := base64.StdEncoding.EncodeToString
	var jpg, gifData bytes.Buffer
	if err := jpeg.Encode(&jpg, image.NewGray(image.Rect(0, 0, 120, 167)), nil); err != nil {
		t.Fatal(err)
	}
	if err := gif.Encode(&gifData, image.NewGray(image.Rect(0, 0, 200, 200)), nil); err != nil {
		t.Fatal(err)
	}
	huge := append(pngImage(t, 200, 200), make([]byte, 2<<20)...)

	for _, c := range []struct {
		name, id, src, typ string
		status             int
		mention            string
	}{
		{"a png", "socks-orange-1.png", b64(pngImage(t, 300, 200)), "base64", 200, `"imageId":"socks-orange-1.png"`},
		{"a jpeg just high enough", "mug_2", b64(jpg.Bytes()), "base64", 200, `"imageId":"mug_2"`},
		{"the same id again", "mug_2", b64(pngImage(t, 300, 200)), "base64", 409, "imageId"},
		{"too low", "low", b64(pngImage(t, 300, 166)), "base64", 400, "166 pixels high; the minimum height is 167"},
		{"a gif", "anim", b64(gifData.Bytes()), "base64", 400, "PNG or JPEG"},
		{"over 2 MB", "huge", b64(huge), "base64", 400, "larger than 2 MB"},
		{"not base64", "bad", "not*base64", "base64", 400, "base64"},
		{"a url", "url", "https://shop.example/socks.png", "url", 400, `"name":"type"`},
		{"a slash in the id", "a/b", b64(pngImage(t, 300, 200)), "base64", 400, `"name":"imageId"`},
		{"an id too long", strings.Repeat("x", 129), b64(pngImage(t, 300, 200)), "base64", 400, `"name":"imageId"`},
	} {
		status, body := upload(c.id, c.src, c.typ)
		if status != c.status || !strings.Contains(body, c.mention) {
			t.Fatalf("%s: %d %s; want %d mentioning %q", c.name, status, body, c.status, c.mention)
		}
	}
	if n := e.sim.Stats().Images; n != 2 {
		t.Fatalf("%d images kept, want 2", n)
	}
	put := func(imageID string) (int, string) {
		status, body := e.raw(t, http.MethodPut, "/order-management/v2/ECOM/categories/order-0001",
			fmt.Sprintf(`{"category":"DELIVERY","orderDetailsUrl":"https://shop.example/track","imageId":%q}`, imageID), nil)
		return status, string(body)
	}
	if status, body := put("never-uploaded"); status != 400 || !strings.Contains(body, `"name":"imageId"`) {
		t.Fatalf("category with an unknown image: %d %s", status, body)
	}
	if status, body := put("mug_2"); status != 200 {
		t.Fatalf("category with an uploaded image: %d %s", status, body)
	}
	// The upload needs the usual credentials.
	resp, err := http.Post(e.srv.URL+"/order-management/v1/images", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("upload without credentials: %d", resp.StatusCode)
	}
}
