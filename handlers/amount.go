package handlers

import (
	"errors"
	"strings"
)

// errAmount says that a typed amount is not one: junk, a sign, more than
// two decimals, or zero.
var errAmount = errors.New("not an amount")

// ParseAmount reads an amount a person typed in the main unit (kroner,
// euro) and returns it in minor units, exactly: "100" is 10000, "100,50"
// and "100.50" are 10050, "1 000,50" (ordinary, no-break or thin spaces
// between the thousands, in threes) is 100050, "0,5" is 50. It refuses
// more than two decimals, signs, letters, grouping with dots or commas,
// empty input, zero, and amounts larger than max minor units. No float is
// involved.
func ParseAmount(s string, max int64) (int64, error) {
	// Spaces may group the whole part's thousands, in threes.
	groups := strings.FieldsFunc(s, func(r rune) bool {
		switch r {
		case ' ', '\u00a0', '\u202f', '\u2009':
			return true
		}
		return false
	})
	if len(groups) > 1 {
		last, _, _ := strings.Cut(strings.ReplaceAll(groups[len(groups)-1], ",", "."), ".")
		for i, g := range groups {
			if i == len(groups)-1 {
				g = last
			}
			if i == 0 && (len(g) < 1 || len(g) > 3) || i > 0 && len(g) != 3 {
				return 0, errAmount
			}
		}
	}
	s = strings.Join(groups, "")
	whole, frac, hasFrac := strings.Cut(s, ",")
	if !hasFrac {
		whole, frac, hasFrac = strings.Cut(s, ".")
	}
	if whole == "" && !hasFrac || len(frac) > 2 || hasFrac && frac == "" || strings.ContainsAny(frac, ".,") {
		return 0, errAmount
	}
	if whole == "" {
		whole = "0"
	}
	for len(frac) < 2 {
		frac += "0"
	}
	var n int64
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, errAmount
		}
		n = n*10 + int64(r-'0')
		if n > max {
			return 0, errAmount
		}
	}
	if n <= 0 {
		return 0, errAmount
	}
	return n, nil
}
