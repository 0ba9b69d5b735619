package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"unicode"

	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// readBody reads a request body, in one allocation when its length is
// known.
func readBody(r *http.Request) ([]byte, *apiError) {
	var b []byte
	var err error
	if r.ContentLength > 0 && r.ContentLength <= maxBody {
		b = make([]byte, r.ContentLength)
		_, err = io.ReadFull(r.Body, b)
	} else {
		b, err = io.ReadAll(r.Body)
	}
	if err != nil {
		return nil, validationErr("body", "The request body could not be read.")
	}
	return b, nil
}

// decodeStrict decodes JSON and names the offending field on failure. An
// amount that is not a whole number of minor units is Vipps' 4040.
func decodeStrict(body []byte, v any) *apiError {
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			te.Field = jsonPath(te.Field)
			if isAmountValue(te.Field) && strings.HasPrefix(te.Value, "number") {
				return domainErr(http.StatusBadRequest, "4040", "Invalid amount",
					"The field "+te.Field+" must be a whole number of minor units (øre or cents), e.g. 49900 for 499.00.")
			}
			return validationErr(te.Field, fmt.Sprintf("The JSON value could not be converted to %s.", te.Type))
		}
		return validationErr("body", "The request body is not valid JSON.")
	}
	return nil
}

// jsonPath drops the names of embedded Go structs from a field path as
// encoding/json reports it ("CreatePaymentRequest.amount.value"), leaving
// the JSON names, which in Vipps' APIs never start with a capital.
func jsonPath(field string) string {
	parts := strings.Split(field, ".")
	parts = slices.DeleteFunc(parts, func(p string) bool { return p != "" && unicode.IsUpper(rune(p[0])) })
	return strings.Join(parts, ".")
}

// isAmountValue reports whether a field path names the value of an amount:
// amount.value, modificationAmount.value, shipping…amount.value.
func isAmountValue(field string) bool {
	parent, last, ok := cutLast(field, ".")
	if !ok || last != "value" {
		return false
	}
	_, parent, _ = cutLast(parent, ".")
	return strings.HasSuffix(strings.ToLower(parent), "amount")
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return "", s, false
	}
	return s[:i], s[i+len(sep):], true
}

// flexString is a string that also takes a JSON number, written as its
// decimal digits: Vipps' own published examples send reference and
// customer.phoneNumber as numbers, and Vipps accepts them.
type flexString string

// UnmarshalJSON takes a string, a number or null.
func (f *flexString) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		err := json.Unmarshal(b, &s)
		*f = flexString(s)
		return err
	case len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9'):
		lit := string(b)
		if r, ok := new(big.Rat).SetString(lit); ok && r.IsInt() {
			lit = r.Num().String() // 4.79e9 → 4790000000
		}
		*f = flexString(lit)
		return nil
	}
	kind := "object"
	switch b[0] {
	case '[':
		kind = "array"
	case 't', 'f':
		kind = "bool"
	}
	return &json.UnmarshalTypeError{Value: kind, Type: reflect.TypeFor[string]()}
}

// createBody is a create request as the simulator decodes it: the shared
// request type, with reference and customer.phoneNumber taking numbers too.
type createBody struct {
	vipps.CreatePaymentRequest
	Reference flexString    `json:"reference"`
	Customer  *customerBody `json:"customer,omitempty"`
}

type customerBody struct {
	vipps.Customer
	PhoneNumber flexString `json:"phoneNumber,omitempty"`
}

// customer is the decoded customer, its phone number as a string; nil
// stays nil.
func (b *customerBody) customer() *vipps.Customer {
	if b == nil {
		return nil
	}
	c := b.Customer
	c.PhoneNumber = string(b.PhoneNumber)
	return &c
}

// decodeCreate decodes a create request.
func decodeCreate(body []byte) (vipps.CreatePaymentRequest, *apiError) {
	var b createBody
	err := decodeStrict(body, &b)
	req := b.CreatePaymentRequest
	req.Reference = string(b.Reference)
	req.Customer = b.Customer.customer()
	return req, err
}

// forceApproveBody is a force approve request as the simulator decodes it:
// customer.phoneNumber takes a number, as in create (Vipps' own published
// force approve request sends one).
type forceApproveBody struct {
	vipps.ForceApproveRequest
	Customer *customerBody `json:"customer,omitempty"`
}

// decodeForceApprove decodes a force approve request.
func decodeForceApprove(body []byte) (vipps.ForceApproveRequest, *apiError) {
	var b forceApproveBody
	err := decodeStrict(body, &b)
	req := b.ForceApproveRequest
	req.Customer = b.Customer.customer()
	return req, err
}
