package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // the formats Order Management takes
	_ "image/png"
	"io"
	"net/http"
	"time"
)

// imagesPath is Order Management's image upload.
const imagesPath = "/order-management/v1/images"

// Order Management's rules for images.
const (
	maxImageBytes  = 2 << 20
	minImageHeight = 167
	maxImageID     = 128
	imageIDRule    = "must be 1 to 128 characters of A-Z, a-z, 0-9, '-', '_' and '.'"
)

// imageEntry is an uploaded image. The simulator keeps what it checked,
// not the pixels.
type imageEntry struct {
	MSN    string    `json:"msn"`
	ID     string    `json:"imageId"`
	Format string    `json:"format"` // png or jpeg
	Width  int       `json:"width"`
	Height int       `json:"height"`
	Size   int       `json:"size"`
	SHA256 string    `json:"sha256"`
	At     time.Time `json:"at"`
}

func imageKey(msn, id string) string { return msn + "/" + id }

func validImageID(id string) bool {
	return len(id) <= maxImageID && orderIDPattern.MatchString(id)
}

// imagesAPI serves POST /order-management/v1/images: {"imageId", "src"
// (the bytes in base64), "type": "base64"}. The image must be a PNG or
// JPEG of at most 2 MB and at least 167 pixels high; an id cannot be
// uploaded twice (409). The answer is 200 {"imageId": …}.
func (s *Simulator) imagesAPI(w http.ResponseWriter, r *http.Request, msn string) {
	if r.Method != http.MethodPost {
		omError(w, r, http.StatusMethodNotAllowed, "Method Not Allowed", "", "")
		return
	}
	s.withFaults(w, r, "image", func(w http.ResponseWriter, r *http.Request) { s.uploadImage(w, r, msn) })
}

func (s *Simulator) uploadImage(w http.ResponseWriter, r *http.Request, msn string) {
	invalid := func(name, reason string) {
		omError(w, r, http.StatusBadRequest, "One or more validation errors occurred.", name, reason)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			invalid("src", "The image is larger than 2 MB.")
			return
		}
		invalid("body", "unreadable")
		return
	}
	var req struct {
		ImageID string `json:"imageId"`
		Src     string `json:"src"`
		Type    string `json:"type"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		invalid("body", "not valid JSON")
		return
	}
	if req.ImageID == "" || !validImageID(req.ImageID) {
		invalid("imageId", imageIDRule)
		return
	}
	if req.Type != "base64" {
		invalid("type", "must be base64")
		return
	}
	data, err := base64.StdEncoding.DecodeString(req.Src)
	if err != nil || len(data) == 0 {
		invalid("src", "must be the image's bytes in base64")
		return
	}
	if len(data) > maxImageBytes {
		invalid("src", "The image is larger than 2 MB.")
		return
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || (format != "png" && format != "jpeg") {
		invalid("src", "must be a PNG or JPEG image")
		return
	}
	if cfg.Height < minImageHeight {
		invalid("src", fmt.Sprintf("The image is %d pixels high; the minimum height is %d pixels.", cfg.Height, minImageHeight))
		return
	}
	sum := sha256.Sum256(data)
	e := &imageEntry{MSN: msn, ID: req.ImageID, Format: format, Width: cfg.Width, Height: cfg.Height, Size: len(data), SHA256: hex.EncodeToString(sum[:])}
	k := imageKey(msn, req.ImageID)
	s.mu.Lock()
	if s.images[k] != nil {
		s.mu.Unlock()
		omError(w, r, http.StatusConflict, "Conflict", "imageId", "an image with this id already exists; images cannot be replaced")
		return
	}
	e.At = s.clock.Now()
	s.images[k] = e
	s.j.put(recImage, k, e)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"imageId": req.ImageID})
}
