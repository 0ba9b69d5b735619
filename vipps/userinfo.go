package vipps

import (
	"context"
	"net/http"
)

// userinfoPath is the Userinfo API for a profile-sharing sub.
const userinfoPath = "/vipps-userinfo-api/userinfo/"

// Userinfo is what the buyer agreed to share, as the Userinfo API returns
// it. Only the claims of the consented scopes are present.
type Userinfo struct {
	Sub                 string            `json:"sub"`
	Name                string            `json:"name,omitempty"`
	GivenName           string            `json:"given_name,omitempty"`
	FamilyName          string            `json:"family_name,omitempty"`
	Email               string            `json:"email,omitempty"`
	EmailVerified       *bool             `json:"email_verified,omitempty"`
	PhoneNumber         string            `json:"phone_number,omitempty"`
	PhoneNumberVerified *bool             `json:"phone_number_verified,omitempty"`
	BirthDate           string            `json:"birthdate,omitempty"`
	Address             *UserinfoAddress  `json:"address,omitempty"`
	OtherAddresses      []UserinfoAddress `json:"other_addresses,omitempty"`
	SID                 string            `json:"sid,omitempty"`
}

// UserinfoAddress is a postal address in the Userinfo API. Region is the
// town; Formatted joins street, post code and town, and country by newlines.
type UserinfoAddress struct {
	StreetAddress string `json:"street_address,omitempty"`
	PostalCode    string `json:"postal_code,omitempty"`
	Region        string `json:"region,omitempty"`
	Country       string `json:"country,omitempty"`
	Formatted     string `json:"formatted,omitempty"`
	AddressType   string `json:"address_type,omitempty"`
	Default       bool   `json:"default,omitempty"`
}

// Userinfo reads the profile a buyer shared in a payment (GET
// /vipps-userinfo-api/userinfo/{sub}), with sub from the payment's
// profile.sub. Vipps keeps the data fetchable for 168 hours after the
// payment; read it right after authorization and store what is needed. The
// Userinfo API is not part of the ePayment subscription, so the call goes
// without the subscription key, as Vipps asks.
func (c *Client) Userinfo(ctx context.Context, sub string) (*Userinfo, error) {
	const op = "get userinfo"
	seg, err := pathSegment(op, "sub", sub)
	if err != nil {
		return nil, err
	}
	var out Userinfo
	if err := c.do(ctx, call{op: op, method: http.MethodGet, path: userinfoPath + seg, replaySafe: true, noSubscriptionKey: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
