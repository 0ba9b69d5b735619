package shop

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"regexp"
)

// referenceRandomBytes gives 100 bits of randomness: nobody can guess another
// buyer's reference, and references never collide in practice.
const referenceRandomBytes = 13

var referenceEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// prefixPattern keeps references within Vipps' rule ^[a-zA-Z0-9-]{8,50}$
// with room for the random part.
var prefixPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,24}$`)

// referencePattern is what Vipps accepts as a reference.
var referencePattern = regexp.MustCompile(`^[A-Za-z0-9-]{8,64}$`)

// ValidatePrefix checks a reference prefix: a letter, then up to 24 letters,
// digits or '-'. Use a different prefix per shop and per environment, since
// a reference may be used only once per merchant serial number.
func ValidatePrefix(p string) error {
	if p == "" || prefixPattern.MatchString(p) {
		return nil
	}
	return fmt.Errorf("reference prefix %q: use a letter followed by up to 24 letters, digits or '-'", p)
}

// ValidReference reports whether s has the shape of a Vipps reference. It is
// a cheap filter before any lookup.
func ValidReference(s string) bool { return referencePattern.MatchString(s) }

// NewReference returns prefix-<20 random base32 characters> (100 bits).
func NewReference(prefix string) (string, error) {
	b := make([]byte, referenceRandomBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating reference: %w", err)
	}
	if prefix == "" {
		prefix = "order"
	}
	return prefix + "-" + referenceEncoding.EncodeToString(b)[:20], nil
}
