// Package readme reads recipes out of the project's README, so that the
// tests run the configuration users copy, not a copy of it.
package readme

import (
	"bufio"
	"errors"
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

// marker is the HTML comment (invisible on the rendered page) that names a
// shell block of the README the tests run: <!-- readme-test: NAME --> on
// the line before the block's fence.
const marker = "<!-- readme-test: "

// Block is one shell block (```sh or ```bash) of the README.
type Block struct {
	// Name is the block's marker name; empty when the block has none.
	Name string
	// Text is what stands between the fences.
	Text string
}

// Blocks returns the README's shell blocks, in order.
func Blocks(readmePath string) ([]Block, error) {
	data, err := os.ReadFile(readmePath)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(data), "\n")
	var blocks []Block
	for i := 0; i < len(lines); i++ {
		fence := strings.TrimSpace(lines[i])
		if fence != "```sh" && fence != "```bash" {
			continue
		}
		var b Block
		if i > 0 {
			if name, ok := strings.CutPrefix(strings.TrimSpace(lines[i-1]), marker); ok {
				b.Name = strings.TrimSuffix(name, " -->")
			}
		}
		var body []string
		closed := false
		for i++; i < len(lines); i++ {
			if strings.TrimSpace(lines[i]) == "```" {
				closed = true
				break
			}
			body = append(body, lines[i])
		}
		if !closed {
			return nil, fmt.Errorf("%s: a shell block has no closing fence", readmePath)
		}
		b.Text = strings.Join(body, "\n")
		blocks = append(blocks, b)
	}
	return blocks, nil
}

// Commands returns the shell block of the README marked with name, with
// each of the replacements (a placeholder of the README such as
// "<reference>", and what the test puts there) made. It is an error when no
// block has that name, two have it, or a placeholder is not in the block:
// the README and its test must not drift apart.
func Commands(readmePath, name string, replacements ...string) (string, error) {
	if len(replacements)%2 != 0 {
		return "", errors.New("replacements come in pairs: placeholder, value")
	}
	blocks, err := Blocks(readmePath)
	if err != nil {
		return "", err
	}
	var found []string
	for _, b := range blocks {
		if b.Name == name {
			found = append(found, b.Text)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%s has no shell block marked %q (%s%s -->)", readmePath, name, marker, name)
	case 1:
	default:
		return "", fmt.Errorf("%s has %d shell blocks marked %q", readmePath, len(found), name)
	}
	script := found[0]
	for i := 0; i < len(replacements); i += 2 {
		if !strings.Contains(script, replacements[i]) {
			return "", fmt.Errorf("the README's %q commands no longer hold %q", name, replacements[i])
		}
		script = strings.ReplaceAll(script, replacements[i], replacements[i+1])
	}
	return script + "\n", nil
}
