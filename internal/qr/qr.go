// Package qr draws QR codes of addresses, as PNG and as SVG, from one
// bitmap with the quiet zone the standard asks for. The codes use error
// correction level M (15 %), which a phone reads from a screen or paper.
package qr

import (
	"bytes"
	"fmt"

	qrcode "github.com/skip2/go-qrcode"
)

// MaxPNGSize bounds the side of a PNG, in pixels.
const MaxPNGSize = 2000

func encode(content string) (*qrcode.QRCode, error) {
	if content == "" {
		return nil, fmt.Errorf("qr: nothing to encode")
	}
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("qr: encoding: %w", err)
	}
	return q, nil
}

// PNG draws content as a square PNG of size pixels (100 to MaxPNGSize).
func PNG(content string, size int) ([]byte, error) {
	if size < 100 || size > MaxPNGSize {
		return nil, fmt.Errorf("qr: size %d is outside 100-%d", size, MaxPNGSize)
	}
	q, err := encode(content)
	if err != nil {
		return nil, err
	}
	b, err := q.PNG(size)
	if err != nil {
		return nil, fmt.Errorf("qr: drawing: %w", err)
	}
	return b, nil
}

// SVG draws content as an SVG image that scales to any size: one square
// unit per module, each row's dark runs as one path. Label is its
// accessible name.
func SVG(content, label string) ([]byte, error) {
	q, err := encode(content)
	if err != nil {
		return nil, err
	}
	bits := q.Bitmap()
	n := len(bits)
	var path bytes.Buffer
	for y, row := range bits {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			fmt.Fprintf(&path, "M%d,%dh%dv1h-%dz", start, y, x-start, x-start)
		}
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges" role="img" aria-label="%s">`, n, n, escape(label))
	fmt.Fprintf(&out, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="%s"/></svg>`, n, n, path.String())
	return out.Bytes(), nil
}

// escape makes s safe inside an XML attribute.
func escape(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
