package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/caddy-vipps/caddy-vipps/shop"
)

// readMerchantBody reads the body of a merchant call that changes something
// (see readStrictJSON), which takes nothing in its query: a parameter there
// (?amount=10000 beside an empty body, which means everything) is refused
// before the body is read. The body must say it is JSON (Content-Type:
// application/json), also when it is empty; only a caller with the admin
// token may send an empty body without a Content-Type (as curl -X POST
// does). Anything else (text/plain, a form, with a body or without) is
// errJSONOnly, 415: those are the types a page of another site can make a
// browser send, and an empty body means "everything".
func readMerchantBody(r *http.Request, v any, fields ...string) (empty bool, err error) {
	if _, err := readQuery(r); err != nil {
		return false, err
	}
	switch {
	case sentJSON(r):
	case r.Header.Get("Content-Type") == "" && credentialOf(r) == byToken:
		// readStrictJSON takes only an empty body without a type.
	default:
		return false, errJSONOnly
	}
	return readStrictJSON(r, v, fields...)
}

// readAdminForm reads a form of the admin page, which must be one
// (application/x-www-form-urlencoded, or multipart/form-data) and must
// name what it asks for: each of the fields given is present. Anything
// else is errFormOnly (415), or an InputError naming the missing field.
func readAdminForm(r *http.Request, fields ...string) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/x-www-form-urlencoded" && mt != "multipart/form-data") {
		return errFormOnly
	}
	if err := parseForm(r, mt); err != nil {
		return err
	}
	for _, f := range fields {
		if _, ok := r.PostForm[f]; !ok {
			return &shop.InputError{Field: f, Reason: "missing: the admin page's forms name what they ask for"}
		}
	}
	return nil
}

// errFormOnly is answered with 415 by the admin page's form endpoints.
var errFormOnly = fmt.Errorf("%w: the body must be the admin page's form", errUnsupportedType)

// readStrictJSON reads a merchant request's body into v, strictly, as a
// careless script's request must be read when it moves money: an empty body
// reports empty (the endpoint decides what that means); anything else must
// be application/json (errJSONOnly), one JSON object, with no field v
// does not have (named in the error, with the fields it takes), no null, no
// value of the wrong type, and nothing after it. Every refusal is an
// InputError (or the MaxBytesError of a body too large) and nothing has
// happened yet.
func readStrictJSON(r *http.Request, v any, fields ...string) (empty bool, err error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return false, err
		}
		return false, &shop.InputError{Reason: "the body could not be read"}
	}
	if len(body) == 0 {
		return true, nil
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return false, errJSONOnly
	}
	shape := "a JSON object"
	if len(fields) > 0 {
		shape = fmt.Sprintf("a JSON object with %s", orList(fields))
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return false, &shop.InputError{Reason: "the body must be " + shape}
	}
	var raw map[string]json.RawMessage
	if err := decodeOne(trimmed, &raw, false); err != nil {
		return false, &shop.InputError{Reason: "the body is not valid JSON: it must be " + shape}
	}
	for name, val := range raw {
		if !slices.Contains(fields, name) {
			return false, &shop.InputError{Field: name, Reason: fmt.Sprintf("unknown field; this endpoint takes %s", orList(fields))}
		}
		if bytes.Equal(bytes.TrimSpace(val), []byte("null")) {
			return false, &shop.InputError{Field: name, Reason: "must not be null"}
		}
	}
	if err := decodeOne(trimmed, v, true); err != nil {
		if p := findFieldProblem(trimmed, reflect.TypeOf(v), ""); p != nil {
			if p.Type != nil {
				return false, &shop.InputError{Field: p.Path, Reason: typeReason(p.Type)}
			}
			return false, &shop.InputError{Field: p.Path, Reason: "unknown field; this object takes " + orList(p.Known)}
		}
		return false, &shop.InputError{Reason: "the body is not valid JSON: it must be " + shape}
	}
	return false, nil
}

// decodeOne decodes exactly one JSON value with nothing after it.
func decodeOne(data []byte, v any, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON value")
	}
	return nil
}

// errJSONOnly is answered with 415 by endpoints that take JSON only.
var errJSONOnly = fmt.Errorf("%w: the body must be JSON", errUnsupportedType)

func typeReason(te *json.UnmarshalTypeError) string {
	switch te.Type.Kind().String() {
	case "int64", "int":
		return "must be a whole number (amounts in minor units: 10000 is 100.00)"
	case "bool":
		return "must be true or false"
	case "string":
		return "must be a string"
	case "slice":
		return "must be a list"
	}
	return "has the wrong type"
}

// orList writes "a, b or c" with each name quoted.
func orList(names []string) string {
	if len(names) == 0 {
		return "no fields"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = `"` + n + `"`
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
