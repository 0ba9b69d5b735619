package qr

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCacheRendersOnceForManyRequests(t *testing.T) {
	c := NewCache(1 << 20)
	k := Key{Content: "https://shop.example.com/vipps/pay/abc", Format: FormatPNG, Size: 2000}
	var wg sync.WaitGroup
	etags := make([]string, 64)
	for i := range etags {
		wg.Go(func() {
			img, err := c.Get(context.Background(), k)
			if err != nil {
				t.Error(err)
				return
			}
			etags[i] = img.ETag
		})
	}
	wg.Wait()
	if n := c.Renders(); n != 1 {
		t.Fatalf("64 requests for one image rendered it %d times", n)
	}
	for _, e := range etags {
		if e != etags[0] || !strings.HasPrefix(e, `"`) || strings.HasPrefix(e, "W/") {
			t.Fatalf("etags %q: want one strong etag", etags)
		}
	}
	svg, err := c.Get(context.Background(), Key{Content: k.Content, Format: FormatSVG, Label: "QR"})
	if err != nil || svg.Type != "image/svg+xml" || svg.ETag == etags[0] || c.Renders() != 2 {
		t.Fatalf("svg: %v, type %q, etag %q, renders %d", err, svg.Type, svg.ETag, c.Renders())
	}
}

func TestCacheBoundsRendersAtOnce(t *testing.T) {
	var now, most atomic.Int64
	c := newCache(1<<20, 2, func(k Key) ([]byte, error) {
		n := now.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		now.Add(-1)
		return []byte(k.Content), nil
	})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			if _, err := c.Get(context.Background(), Key{Content: fmt.Sprint(i), Format: FormatPNG, Size: 100 + i}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if m := most.Load(); m != 2 {
		t.Fatalf("%d renders ran at once, want the bound of 2", m)
	}
	if c.Renders() != 16 {
		t.Fatalf("renders = %d", c.Renders())
	}
}

func TestCacheDropsLeastRecentlyUsedBeyondItsBytes(t *testing.T) {
	c := newCache(300, 1, func(k Key) ([]byte, error) { return make([]byte, 99-len(k.Content)), nil })
	get := func(s string) {
		t.Helper()
		if _, err := c.Get(context.Background(), Key{Content: s, Format: FormatPNG, Size: 100}); err != nil {
			t.Fatal(err)
		}
	}
	get("a")
	get("b")
	get("c")
	get("a") // a is now the most recent
	if c.Renders() != 3 {
		t.Fatalf("renders = %d, want 3", c.Renders())
	}
	get("d") // 4 × 99 bytes > 300: b goes
	get("a")
	get("c")
	if c.Renders() != 4 {
		t.Fatalf("renders = %d, want 4 (a and c kept)", c.Renders())
	}
	get("b")
	if c.Renders() != 5 {
		t.Fatalf("renders = %d, want 5 (b was dropped)", c.Renders())
	}
	if c.bytes > 300 {
		t.Fatalf("the cache holds %d bytes, more than 300", c.bytes)
	}
}

func TestCacheWaiterLeavesRenderGoesOn(t *testing.T) {
	release := make(chan struct{})
	c := newCache(1<<20, 1, func(k Key) ([]byte, error) { <-release; return []byte("x"), nil })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := c.Get(ctx, Key{Content: "a", Format: FormatPNG, Size: 100}); done <- err }()
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a caller who left got an image")
	}
	close(release)
	if _, err := c.Get(context.Background(), Key{Content: "a", Format: FormatPNG, Size: 100}); err != nil || c.Renders() != 1 {
		t.Fatalf("after the first caller left: %v, renders %d", err, c.Renders())
	}
}

// BenchmarkLinkQR compares a 2000-pixel PNG rendered per request (as it
// was) with one served from the cache: the ratio of the two is the cost a
// request for a link's QR code no longer has.
func BenchmarkLinkQR(b *testing.B) {
	const link = "https://shop.example.com/vipps/pay/mfrggzdfmztwq2lknnwg23tpobyxe43u"
	b.Run("render", func(b *testing.B) {
		for b.Loop() {
			if _, err := PNG(link, MaxPNGSize); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		c := NewCache(1 << 20)
		k := Key{Content: link, Format: FormatPNG, Size: MaxPNGSize}
		for b.Loop() {
			if _, err := c.Get(context.Background(), k); err != nil {
				b.Fatal(err)
			}
		}
	})
}
