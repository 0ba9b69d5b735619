package handlers

import "context"

// ErrorSink takes the error a browser would be shown instead of the
// built-in error page, when the web server styles error pages itself (in
// Caddy: handle_errors). API callers get problem+json regardless.
type ErrorSink struct {
	// Status is the HTTP status; zero when nothing failed.
	Status int
	// Err says what failed, safe to show (no secrets, no personal data).
	Err error
}

type errorSinkKey struct{}

// WithErrorSink asks for browser-facing errors to go to sink.
func WithErrorSink(ctx context.Context, sink *ErrorSink) context.Context {
	return context.WithValue(ctx, errorSinkKey{}, sink)
}

func errorSinkFrom(ctx context.Context) *ErrorSink {
	s, _ := ctx.Value(errorSinkKey{}).(*ErrorSink)
	return s
}

// withoutErrorSink answers errors itself: for answers that are kept and
// replayed.
func withoutErrorSink(ctx context.Context) context.Context {
	return context.WithValue(ctx, errorSinkKey{}, (*ErrorSink)(nil))
}
