// Package readme reads recipes out of the project's README, so that the
// tests run the configuration users copy, not a copy of it.
package readme

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// hashPlaceholder is what the README writes for a password hash.
const hashPlaceholder = "$2a$14$..."

// StaffRecipe returns the README's basic_auth recipe for the merchant
// endpoints: the site directives of its caddyfile block that defines the
// @staff matcher, up to the vipps block, with passwordHash in place of the
// hash the README leaves out (bcrypt, as caddy hash-password makes).
func StaffRecipe(readmePath, passwordHash string) (string, error) {
	f, err := os.Open(readmePath)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var (
		lines   []string
		indent  string
		inFence bool
		found   bool
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case !inFence && trimmed == "```caddyfile":
			inFence, indent, lines = true, line[:len(line)-len(strings.TrimLeft(line, " "))], nil
		case inFence && trimmed == "```":
			inFence = false
		case inFence && strings.HasPrefix(trimmed, "vipps {") && len(lines) > 0 && strings.HasPrefix(strings.TrimSpace(lines[0]), "@staff"):
			found = true
		case inFence && !found:
			lines = append(lines, strings.TrimPrefix(line, indent))
		}
		if found {
			break
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if !found {
		return "", fmt.Errorf("%s has no caddyfile block that starts with the @staff matcher and goes on to a vipps block", readmePath)
	}
	recipe := strings.Join(lines, "\n")
	if !strings.Contains(recipe, hashPlaceholder) {
		return "", fmt.Errorf("the README's @staff recipe has no password hash %q to fill in", hashPlaceholder)
	}
	return strings.Replace(recipe, hashPlaceholder, passwordHash, 1), nil
}
