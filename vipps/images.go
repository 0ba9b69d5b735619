package vipps

import (
	"context"
	"encoding/base64"
	"net/http"
	"regexp"
)

// imagesPath is Order Management's image upload.
const imagesPath = "/order-management/v1/images"

// MaxImageSize is the largest image Order Management takes, in bytes.
const MaxImageSize = 2 << 20

// imageIDPattern is what Order Management allows in an image id.
var imageIDPattern = regexp.MustCompile(`^[0-9A-Za-z\-_.]{1,128}$`)

// imageUpload is the body of the upload call.
type imageUpload struct {
	ImageID string `json:"imageId"`
	Src     string `json:"src"`
	Type    string `json:"type"`
}

// UploadImage uploads an image to show with payments in the customer's app
// (POST /order-management/v1/images); name it afterwards in
// Category.ImageID. imageID is 1 to 128 of the characters A–Z, a–z, 0–9,
// '-', '_' and '.', such as a hash of the image; data is a PNG or JPEG file
// of at most MaxImageSize bytes and at least 167 pixels high.
//
// Images cannot be replaced: uploading an id again is answered with 409, so
// treat IsConflict(err) as "already there". For the same reason a failed
// attempt is repeated automatically.
func (c *Client) UploadImage(ctx context.Context, imageID string, data []byte) error {
	const op = "upload image"
	if !imageIDPattern.MatchString(imageID) {
		return argError(op, "image id must be 1 to 128 characters of A-Z, a-z, 0-9, '-', '_' and '.'")
	}
	if len(data) == 0 {
		return argError(op, "image is empty")
	}
	if len(data) > MaxImageSize {
		return argError(op, "image is larger than 2 MB")
	}
	body := imageUpload{ImageID: imageID, Src: base64.StdEncoding.EncodeToString(data), Type: "base64"}
	return c.do(ctx, call{op: op, method: http.MethodPost, path: imagesPath, body: body, replaySafe: true}, nil)
}
