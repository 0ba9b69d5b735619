package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/caddy-vipps/caddy-vipps/shop"
)

// readQuery reads a merchant request's query as strictly as its body: a
// malformed query, a parameter the endpoint does not take, or one given
// twice is an InputError naming it. A typo such as ?statu=captured would
// otherwise list every order, and ?amount=10000 on a ship with an empty
// body would capture everything.
func readQuery(r *http.Request, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &shop.InputError{Reason: "the query string is not valid URL encoding"}
	}
	for name, values := range q {
		if !slices.Contains(allowed, name) {
			if len(allowed) == 0 {
				return nil, &shop.InputError{Field: name, Reason: "this endpoint takes no query parameters; send what it needs in the JSON body"}
			}
			return nil, &shop.InputError{Field: name, Reason: fmt.Sprintf("unknown query parameter; this endpoint takes %s", orList(allowed))}
		}
		if len(values) > 1 {
			return nil, &shop.InputError{Field: name, Reason: "give it once (a list is comma separated)"}
		}
	}
	return q, nil
}
