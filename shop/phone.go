package shop

import (
	"regexp"
	"strings"
)

var msisdnPattern = regexp.MustCompile(`^[0-9]{10,15}$`)

// NormalizePhone turns a phone number as a buyer in market m types it into
// the MSISDN form Vipps wants: country code and number, digits only. For a
// Norwegian shop "+47 912 34 567", "0047 912 34 567", "912 34 567" and
// "91234567" all become "4791234567"; for a Swedish one "070-123 45 67"
// becomes "46701234567" (the trunk 0 dropped). Spaces, dashes, dots and
// brackets are ignored. A number with its own country code ("+46…",
// "0046…", or 10-15 digits) keeps it. An empty input stays empty. Anything
// else — letters, too few or too many digits — is an InputError with Code
// "phone".
func NormalizePhone(s string, m Market) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '(', ')', '\u00a0', '/':
			return -1
		}
		return r
	}, s)
	bad := &InputError{Field: "phone", Code: CodePhone, Reason: "must be a mobile number, e.g. +" + m.CallingCode + " " + m.PhoneExample}
	var out string
	switch {
	case strings.HasPrefix(s, "+"):
		out = s[1:]
	case strings.HasPrefix(s, "00"):
		out = s[2:]
	case m.TrunkPrefix && strings.HasPrefix(s, "0"):
		if !localLength(s[1:], m) {
			return "", bad
		}
		out = m.CallingCode + s[1:]
	case !m.TrunkPrefix && localLength(s, m):
		out = m.CallingCode + s
	default:
		out = s
	}
	// No country code starts with 0.
	if !msisdnPattern.MatchString(out) || out[0] == '0' {
		return "", bad
	}
	return out, nil
}

func localLength(s string, m Market) bool {
	return len(s) >= m.LocalDigits[0] && len(s) <= m.LocalDigits[1] && strings.Trim(s, "0123456789") == ""
}
