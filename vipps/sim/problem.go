package sim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
)

// problem is an RFC 7807 body as ePayment and Webhooks send it.
type problem struct {
	Type         string        `json:"type"`
	Title        string        `json:"title"`
	Detail       string        `json:"detail,omitempty"`
	Instance     string        `json:"instance,omitempty"`
	Status       int           `json:"status"`
	ExtraDetails []extraDetail `json:"extraDetails,omitempty"`
	TraceID      string        `json:"traceId"`
}

type extraDetail struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// apiError is a prepared error answer.
type apiError struct {
	status int
	title  string
	detail string
	code   string            // ErrorCode, for domain errors
	fields map[string]string // field → rule, for validation errors
	retry  string            // Retry-After
}

func (e *apiError) Error() string { return e.title }

func domainErr(status int, code, title, detail string) *apiError {
	return &apiError{status: status, code: code, title: title, detail: detail}
}

func validationErr(field, reason string) *apiError {
	return &apiError{status: http.StatusBadRequest, title: "One or more validation errors occurred.", detail: reason, fields: map[string]string{field: reason}}
}

func traceID() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return "00-" + h[:32] + "-" + h[32:48] + "-01"
}

// body renders the problem+json body for a request path.
func (e *apiError) body(instance string) []byte {
	p := problem{
		Type:     "https://httpstatuses.io/" + strconv.Itoa(e.status),
		Title:    e.title,
		Detail:   e.detail,
		Instance: instance,
		Status:   e.status,
		TraceID:  traceID(),
	}
	if e.code != "" {
		p.ExtraDetails = append(p.ExtraDetails, extraDetail{Name: "ErrorCode", Reason: e.code})
	}
	for f, r := range e.fields {
		p.ExtraDetails = append(p.ExtraDetails, extraDetail{Name: f, Reason: r})
	}
	b, _ := json.Marshal(p)
	return b
}

func writeProblem(w http.ResponseWriter, r *http.Request, e *apiError) {
	if e.retry != "" {
		w.Header().Set("Retry-After", e.retry)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(e.status)
	_, _ = w.Write(e.body(r.URL.Path))
}

// writeGateway writes the Azure API Management body (not RFC 7807) that
// Vipps' gateway sends for 401s.
func writeGateway(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"statusCode": status, "message": message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
