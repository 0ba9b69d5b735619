package sim

import (
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// TestUser is a simulated Vipps MobilePay user. Payments with a profile
// scope share the parts of the user the scope names, once the user
// consents on the landing page.
type TestUser struct {
	Phone      string `json:"phone"`
	GivenName  string `json:"given_name"`
	FamilyName string `json:"family_name"`
	Email      string `json:"email"`
	BirthDate  string `json:"birthdate"`
	Street     string `json:"street"`
	PostalCode string `json:"postal_code"`
	City       string `json:"city"`
	Country    string `json:"country"`
}

// TestUsers are the simulator's buyers, one per market. A payment is
// approved by the user whose phone number the merchant sent, else by the
// user of the payment currency's market (NOK Norway, SEK Sweden, DKK
// Denmark, EUR Finland), unless the landing page or the control API picks
// another.
var TestUsers = []TestUser{
	{Phone: "4791234567", GivenName: "Ada", FamilyName: "Lovelace", Email: "ada@example.com", BirthDate: "1985-12-10",
		Street: "Robert Levins gate 5", PostalCode: "0154", City: "Oslo", Country: "NO"},
	{Phone: "46701234567", GivenName: "Greta", FamilyName: "Garbo", Email: "greta@example.com", BirthDate: "1990-09-18",
		Street: "Drottninggatan 1", PostalCode: "11151", City: "Stockholm", Country: "SE"},
	{Phone: "4512345678", GivenName: "Karen", FamilyName: "Blixen", Email: "karen@example.com", BirthDate: "1985-04-17",
		Street: "Strandvejen 111", PostalCode: "2960", City: "Rungsted Kyst", Country: "DK"},
	{Phone: "358401234567", GivenName: "Tove", FamilyName: "Jansson", Email: "tove@example.com", BirthDate: "1994-08-09",
		Street: "Mannerheimintie 1", PostalCode: "00100", City: "Helsinki", Country: "FI"},
}

var marketOf = map[string]string{"NOK": "NO", "SEK": "SE", "DKK": "DK", "EUR": "FI"}

// testUser returns the user with the given phone number.
func testUser(phone string) (TestUser, bool) {
	i := slices.IndexFunc(TestUsers, func(u TestUser) bool { return u.Phone == phone })
	if i < 0 {
		return TestUser{}, false
	}
	return TestUsers[i], true
}

// defaultUser is who approves a payment when nobody chose: the customer the
// merchant named, else the user of the currency's market.
func defaultUser(p *payment) TestUser {
	if c := p.Req.Customer; c != nil {
		if u, ok := testUser(c.PhoneNumber); ok {
			return u
		}
	}
	for _, u := range TestUsers {
		if u.Country == marketOf[p.Req.Amount.Currency] {
			return u
		}
	}
	return TestUsers[0]
}

// subNamespace makes subs: one stable UUID per (MSN, user), as Vipps gives
// each sales unit its own sub for a person.
var subNamespace = uuid.MustParse("7b0c6f5e-3a4d-4e8f-9b1a-2c3d4e5f6a7b")

func subFor(msn, phone string) string {
	return uuid.NewSHA1(subNamespace, []byte(msn+"/"+phone)).String()
}

// userinfoWindow is how long Vipps hands out shared data after a payment.
const userinfoWindow = 168 * time.Hour

// scopeSet returns the payment's requested scope values.
func (p *payment) scopeSet() []string {
	if p.Req.Profile == nil {
		return nil
	}
	return strings.Fields(p.Req.Profile.Scope)
}

func (p *payment) wants(scope string) bool { return slices.Contains(p.scopeSet(), scope) }

// shares reports whether the payment has shared profile data: it asked for
// some, the buyer consented and the payment was authorized.
func (p *payment) shares() bool {
	return p.User != nil && p.Authorized > 0 && p.State != vipps.StateAborted && p.State != vipps.StateExpired
}

// userDetails is the shared profile as ePayment shows it.
func (p *payment) userDetails() *vipps.UserDetails {
	if !p.shares() {
		return nil
	}
	u := p.User
	d := &vipps.UserDetails{}
	if p.wants("name") {
		d.FirstName, d.LastName = u.GivenName, u.FamilyName
	}
	if p.wants("email") {
		d.Email = u.Email
	}
	if p.wants("phoneNumber") {
		d.MobileNumber = u.Phone
	}
	if p.wants("address") {
		d.Addresses = []vipps.Address{userAddress(u)}
	}
	return d
}

func userAddress(u *TestUser) vipps.Address {
	return vipps.Address{AddressLine1: u.Street, City: u.City, PostCode: u.PostalCode, Country: u.Country}
}

// userinfo is the shared profile as the Userinfo API shows it.
func (p *payment) userinfo() vipps.Userinfo {
	u := p.User
	out := vipps.Userinfo{Sub: p.Sub, SID: strings.ReplaceAll(p.PSPReference, "-", "")[:16]}
	yes := true
	if p.wants("name") {
		out.Name, out.GivenName, out.FamilyName = u.GivenName+" "+u.FamilyName, u.GivenName, u.FamilyName
	}
	if p.wants("email") {
		out.Email, out.EmailVerified = u.Email, &yes
	}
	if p.wants("phoneNumber") {
		out.PhoneNumber, out.PhoneNumberVerified = u.Phone, &yes
	}
	if p.wants("birthDate") {
		out.BirthDate = u.BirthDate
	}
	if p.wants("address") {
		out.Address = &vipps.UserinfoAddress{
			StreetAddress: u.Street, PostalCode: u.PostalCode, Region: strings.ToUpper(u.City), Country: u.Country,
			Formatted: u.Street + "\n" + u.PostalCode + " " + strings.ToUpper(u.City) + "\n" + u.Country, AddressType: "home", Default: true,
		}
		out.OtherAddresses = []vipps.UserinfoAddress{}
	}
	return out
}

// scopeLabels names what a scope shares, for the consent screen.
var scopeLabels = map[string]string{
	"name": "Name", "email": "Email address", "phoneNumber": "Phone number", "address": "Address", "birthDate": "Date of birth",
}
