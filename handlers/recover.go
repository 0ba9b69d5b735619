package handlers

import (
	"fmt"
	"net/http"

	"go.uber.org/zap"
)

// recovered answers a request whose handler panicked, instead of the
// dropped connection a web server leaves behind (Caddy does not recover
// handler panics): the panic is logged with the request's ID and stack,
// and the client gets a problem+json 500 (a page for a browser) when
// nothing was written yet. A deliberate http.ErrAbortHandler goes on up.
func (h *Handler) recovered(w *trackingWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	h.log.Error("handler panic", zap.String("request_id", h.requestID(r)), zap.String("method", r.Method),
		zap.String("path", r.URL.Path), zap.String("panic", fmt.Sprint(v)), zap.StackSkip("stack", 1))
	if w.wrote {
		// Half an answer is out: cut it off rather than let it pass for
		// a whole one.
		panic(http.ErrAbortHandler)
	}
	h.answerFailure(w, r.WithContext(withoutErrorSink(r.Context())), failure{status: http.StatusInternalServerError, title: "Internal error",
		detail: "Something went wrong on our side; it was logged. Look at the order before you send the request again.", page: "error.internal"})
}

// trackingWriter notes whether anything was written.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) WriteHeader(status int) {
	t.wrote = true
	t.ResponseWriter.WriteHeader(status)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the writer underneath.
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// requestID names the request for the log (Config.RequestID).
func (h *Handler) requestID(r *http.Request) string {
	if h.cfg.RequestID == nil {
		return ""
	}
	return h.cfg.RequestID(r)
}
