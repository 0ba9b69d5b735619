package vipps

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"time"
)

// Webhook signature headers, as Vipps sends them.
const (
	HeaderMSDate          = "X-Ms-Date"
	HeaderMSContentSHA256 = "X-Ms-Content-Sha256"
	// HeaderVippsAuthorization repeats the Authorization value for servers
	// that strip the Authorization header of incoming requests.
	HeaderVippsAuthorization = "X-Vipps-Authorization"
)

const signedHeadersPrefix = "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature="

// ContentHash returns base64(SHA-256(body)), the x-ms-content-sha256 value.
func ContentHash(body []byte) string {
	sum := sha256.Sum256(body)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// WebhookSignature computes the base64 HMAC-SHA256 signature of a webhook
// delivery. The key is the UTF-8 bytes of the secret exactly as the register
// call returned it; the message is
//
//	METHOD\npathAndQuery\ndate;host;contentHash
func WebhookSignature(secret, method, pathAndQuery, date, host, contentHash string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(method))
	m.Write([]byte{'\n'})
	m.Write([]byte(pathAndQuery))
	m.Write([]byte{'\n'})
	m.Write([]byte(date))
	m.Write([]byte{';'})
	m.Write([]byte(host))
	m.Write([]byte{';'})
	m.Write([]byte(contentHash))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// WebhookAuthorization builds the full Authorization header value from a
// signature.
func WebhookAuthorization(signature string) string {
	return signedHeadersPrefix + signature
}

// SignWebhookRequest sets the x-ms-date, x-ms-content-sha256, Authorization
// and X-Vipps-Authorization headers of an outgoing delivery, exactly as Vipps
// signs them. The Host is taken from req.URL (req.Host if set), and the date
// from now.
func SignWebhookRequest(req *http.Request, secret string, body []byte, now time.Time) {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	date := now.UTC().Format(http.TimeFormat)
	hash := ContentHash(body)
	auth := WebhookAuthorization(WebhookSignature(secret, req.Method, req.URL.RequestURI(), date, host, hash))
	req.Header.Set(HeaderMSDate, date)
	req.Header.Set(HeaderMSContentSHA256, hash)
	req.Header.Set("Authorization", auth)
	req.Header.Set(HeaderVippsAuthorization, auth)
}
