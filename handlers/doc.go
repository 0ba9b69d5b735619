// Package handlers holds the HTTP endpoints of the Vipps payment flow. Each
// endpoint is thin: it reads the request, calls package shop, and writes the
// answer — a page for browsers, JSON (and application/problem+json for
// errors) for API callers. It knows nothing about Caddy; the module mounts
// the handler under its base path.
package handlers
