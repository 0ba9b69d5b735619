// Package caddyvipps registers the Caddy HTTP handler module
// http.handlers.vipps: the Vipps MobilePay online payment flow for any static
// or proxied web shop.
package caddyvipps
