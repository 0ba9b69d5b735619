// Package qrtest reads QR codes back, for tests: what a phone's camera
// would find in a PNG or in an SVG of package qr.
package qrtest

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"regexp"
	"strconv"

	"github.com/makiuchi-d/gozxing"
	qrreader "github.com/makiuchi-d/gozxing/qrcode"
)

// Decode reads the QR code in an image.
func Decode(img image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	// A drawn code is read as one (PURE_BARCODE), as a camera reads it
	// (TRY_HARDER) if that fails.
	var last error
	for _, hints := range []map[gozxing.DecodeHintType]any{
		{gozxing.DecodeHintType_PURE_BARCODE: true},
		{gozxing.DecodeHintType_TRY_HARDER: true},
	} {
		res, err := qrreader.NewQRCodeReader().Decode(bmp, hints)
		if err == nil {
			return res.GetText(), nil
		}
		last = err
	}
	return "", fmt.Errorf("the QR code cannot be read: %w", last)
}

// DecodePNG reads the QR code in a PNG.
func DecodePNG(b []byte) (string, error) {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return "", fmt.Errorf("not a PNG: %w", err)
	}
	return Decode(img)
}

var (
	viewBox = regexp.MustCompile(`viewBox="0 0 (\d+) (\d+)"`)
	run     = regexp.MustCompile(`M(\d+),(\d+)h(\d+)`)
)

// DecodeSVG reads the QR code in an SVG drawn by package qr, drawn at six
// pixels per module.
func DecodeSVG(svg []byte) (string, error) {
	img, err := Rasterize(svg, 6)
	if err != nil {
		return "", err
	}
	return Decode(img)
}

// Rasterize draws an SVG of package qr at scale pixels per module.
func Rasterize(svg []byte, scale int) (image.Image, error) {
	m := viewBox.FindSubmatch(svg)
	if m == nil {
		return nil, fmt.Errorf("no viewBox in the SVG")
	}
	n, _ := strconv.Atoi(string(m[1]))
	img := image.NewGray(image.Rect(0, 0, n*scale, n*scale))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for _, r := range run.FindAllSubmatch(svg, -1) {
		x, _ := strconv.Atoi(string(r[1]))
		y, _ := strconv.Atoi(string(r[2]))
		w, _ := strconv.Atoi(string(r[3]))
		for py := y * scale; py < (y+1)*scale; py++ {
			for px := x * scale; px < (x+w)*scale; px++ {
				img.SetGray(px, py, color.Gray{})
			}
		}
	}
	return img, nil
}
