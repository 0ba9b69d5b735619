package sim

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/caddy-vipps/caddy-vipps/internal/qr"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// qrImagePath serves the QR codes of QR payments, as Vipps' image service
// does: the code holds the payment's landing page, which a phone's camera
// opens (in place of the app).
const qrImagePath = "/qr-image/v1"

// defaultQRSize is the side of a PNG when the merchant names none.
const defaultQRSize = 1024

// validateQRFormat applies the rules of qrFormat: only for userFlow QR, one
// of the three formats, and a size of 100-2000 pixels. The size shapes
// only a PNG; with SVG (whose image scales) or TEXT/TARGETURL it is taken
// and ignored, as Vipps does: its own published "Create payment - QR"
// request sends IMAGE/SVG+XML with size 1024.
func validateQRFormat(req *vipps.CreatePaymentRequest) *apiError {
	f := req.QRFormat
	if f == nil {
		return nil
	}
	if req.UserFlow != vipps.UserFlowQR {
		return validationErr("qrFormat", "qrFormat is only allowed with userFlow QR.")
	}
	switch f.Format {
	case vipps.QRFormatTargetURL, vipps.QRFormatSVG, vipps.QRFormatPNG:
	default:
		return validationErr("qrFormat.format", "The format must be TEXT/TARGETURL, IMAGE/SVG+XML or IMAGE/PNG.")
	}
	if f.Size != nil && (*f.Size < 100 || *f.Size > 2000) {
		return validationErr("qrFormat.size", "The size must be from 100 to 2000 pixels (it is used for IMAGE/PNG).")
	}
	return nil
}

// redirectURL is what a create call answers in redirectUrl: the landing
// page, for a QR payment its QR code (an image, or the address it holds),
// and nothing for a push.
func redirectURL(base string, req *vipps.CreatePaymentRequest, token string) string {
	landing := base + "/landing?token=" + token
	switch req.UserFlow {
	case vipps.UserFlowPushMessage:
		return ""
	case vipps.UserFlowQR:
		if req.QRFormat != nil && req.QRFormat.Format == vipps.QRFormatTargetURL {
			return landing
		}
		return base + qrImagePath + "?token=" + url.QueryEscape(token)
	}
	return landing
}

// qrImage serves GET /qr-image/v1?token=T: the QR code of a QR payment's
// landing page, as SVG or PNG as the payment asked.
func (s *Simulator) qrImage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	s.mu.Lock()
	p := s.payments[s.landing[token]]
	var format vipps.QRFormat
	if p != nil && token != "" && p.Req.UserFlow == vipps.UserFlowQR && p.Req.QRFormat != nil {
		format = *p.Req.QRFormat
	}
	found := p != nil && token != "" && p.Req.UserFlow == vipps.UserFlowQR
	s.mu.Unlock()
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !found {
		http.NotFound(w, r)
		return
	}
	landing := s.publicURL(r) + "/landing?token=" + token
	var (
		img   []byte
		ctype string
		err   error
	)
	if format.Format == vipps.QRFormatPNG {
		size := defaultQRSize
		if format.Size != nil {
			size = *format.Size
		}
		img, err = qr.PNG(landing, size)
		ctype = "image/png"
	} else {
		img, err = qr.SVG(landing, "QR code of the payment")
		ctype = "image/svg+xml"
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(img)))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(img)
}
