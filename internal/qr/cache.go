package qr

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/semaphore"
	"golang.org/x/sync/singleflight"
)

// Formats of a cached image.
const (
	FormatPNG = "png"
	FormatSVG = "svg"
)

// Key names one image: what it encodes, how, and its size (PNG) or
// accessible name (SVG).
type Key struct {
	Content string
	Format  string
	Size    int
	Label   string
}

// Image is a rendered QR code with its strong ETag and media type.
type Image struct {
	Body []byte
	ETag string
	Type string
}

// Cache renders each image once and keeps it, least recently used first
// out, up to a number of bytes. Renders of one key at the same time are
// one render; renders of different keys run at most a few at once (half
// the CPUs, at least one), so that a burst of large images, whoever sends
// it, leaves the rest of the server its CPU.
type Cache struct {
	maxBytes int64
	render   func(Key) ([]byte, error)
	sem      *semaphore.Weighted
	flights  singleflight.Group
	renders  atomic.Int64

	mu    sync.Mutex
	lru   *list.List // of *entry, most recent first
	items map[Key]*list.Element
	bytes int64
}

type entry struct {
	key Key
	img *Image
}

// NewCache makes a cache of at most maxBytes of images.
func NewCache(maxBytes int64) *Cache {
	return newCache(maxBytes, max(1, runtime.GOMAXPROCS(0)/2), render)
}

func newCache(maxBytes int64, parallel int, r func(Key) ([]byte, error)) *Cache {
	return &Cache{maxBytes: maxBytes, render: r, sem: semaphore.NewWeighted(int64(parallel)),
		lru: list.New(), items: map[Key]*list.Element{}}
}

// render draws an image of k.
func render(k Key) ([]byte, error) {
	switch k.Format {
	case FormatPNG:
		return PNG(k.Content, k.Size)
	case FormatSVG:
		return SVG(k.Content, k.Label)
	}
	return nil, fmt.Errorf("qr: unknown format %q", k.Format)
}

// Get returns the image of k, rendering it when it is not kept. A caller
// whose ctx ends while it waits gets ctx's error; the render goes on for
// the others who wait for it.
func (c *Cache) Get(ctx context.Context, k Key) (*Image, error) {
	if img := c.lookup(k); img != nil {
		return img, nil
	}
	ch := c.flights.DoChan(fmt.Sprintf("%s|%d|%s|%s", k.Format, k.Size, k.Label, k.Content), func() (any, error) {
		if img := c.lookup(k); img != nil {
			return img, nil
		}
		if err := c.sem.Acquire(context.Background(), 1); err != nil {
			return nil, err
		}
		body, err := c.render(k)
		c.sem.Release(1)
		if err != nil {
			return nil, err
		}
		c.renders.Add(1)
		sum := sha256.Sum256(body)
		img := &Image{Body: body, ETag: `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`, Type: mediaType(k.Format)}
		c.keep(k, img)
		return img, nil
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*Image), nil
	}
}

// Renders is how many images the cache has rendered.
func (c *Cache) Renders() int64 { return c.renders.Load() }

func mediaType(format string) string {
	if format == FormatSVG {
		return "image/svg+xml"
	}
	return "image/png"
}

func (c *Cache) lookup(k Key) *Image {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return nil
	}
	c.lru.MoveToFront(el)
	return el.Value.(*entry).img
}

// keep adds an image, dropping the least recently used ones beyond
// maxBytes; an image larger than the whole cache is not kept.
func (c *Cache) keep(k Key, img *Image) {
	size := int64(len(img.Body) + len(k.Content) + len(k.Label))
	if size > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[k]; ok {
		return
	}
	c.items[k] = c.lru.PushFront(&entry{key: k, img: img})
	c.bytes += size
	for c.bytes > c.maxBytes {
		old := c.lru.Back()
		e := old.Value.(*entry)
		c.lru.Remove(old)
		delete(c.items, e.key)
		c.bytes -= int64(len(e.img.Body) + len(e.key.Content) + len(e.key.Label))
	}
}
