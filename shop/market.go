package shop

import (
	"sync"
	"time"
	_ "time/tzdata" // the market's zone, wherever the shop runs
)

// Market is what the shop's currency says about where its buyers are: the
// country code of their phone numbers, how they write them at home, and
// their time zone. Vipps sells in NOK (Norway) and SEK (Sweden), MobilePay
// in DKK (Denmark) and EUR (Finland, the euro market both serve).
type Market struct {
	// Country is the ISO 3166 code, e.g. NO.
	Country string
	// CallingCode is the international calling code, e.g. "47".
	CallingCode string
	// TrunkPrefix is set where numbers are dialled at home with a leading
	// 0 that the international form drops (Sweden, Finland).
	TrunkPrefix bool
	// LocalDigits is how many digits a national number has without the
	// trunk prefix, shortest and longest.
	LocalDigits [2]int
	// PhoneExample is a mobile number as buyers there write it.
	PhoneExample string
	// TimeZone names the market's zone in the IANA database.
	TimeZone string
}

var markets = map[string]Market{
	"NOK": {Country: "NO", CallingCode: "47", LocalDigits: [2]int{8, 8}, PhoneExample: "912 34 567", TimeZone: "Europe/Oslo"},
	"DKK": {Country: "DK", CallingCode: "45", LocalDigits: [2]int{8, 8}, PhoneExample: "20 12 34 56", TimeZone: "Europe/Copenhagen"},
	"SEK": {Country: "SE", CallingCode: "46", TrunkPrefix: true, LocalDigits: [2]int{7, 9}, PhoneExample: "070-123 45 67", TimeZone: "Europe/Stockholm"},
	"EUR": {Country: "FI", CallingCode: "358", TrunkPrefix: true, LocalDigits: [2]int{5, 10}, PhoneExample: "040 123 4567", TimeZone: "Europe/Helsinki"},
}

// MarketOf returns the market of a currency; an unknown currency is the
// Norwegian market.
func MarketOf(currency string) Market {
	if m, ok := markets[currency]; ok {
		return m
	}
	return markets["NOK"]
}

// zones keeps the markets' zones once loaded (a load reads the zone
// database).
var zones sync.Map // name → *time.Location

// Zone is the market's time zone, loaded once.
func (m Market) Zone() (*time.Location, error) {
	if z, ok := zones.Load(m.TimeZone); ok {
		return z.(*time.Location), nil
	}
	z, err := time.LoadLocation(m.TimeZone)
	if err != nil {
		return nil, err
	}
	zones.Store(m.TimeZone, z)
	return z, nil
}
