package config

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDocumentedKeys fails when a key the code reads is missing from
// .env.example or the README's configuration table, or when either names a
// SWITCHBOARD_ variable the code does not know (a stale doc is as bad as a
// missing one).
func TestDocumentedKeys(t *testing.T) {
	known := map[string]bool{}
	for _, k := range Keys {
		known[k.Env()] = true
	}
	envRE := regexp.MustCompile(`SWITCHBOARD_[A-Z0-9_]+`)
	for _, doc := range []string{"../.env.example", "../README.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		text := string(b)
		for _, k := range Keys {
			if !strings.Contains(text, k.Env()) {
				t.Errorf("%s does not document %s (%s)", doc, k.Env(), k.Name)
			}
			if doc == "../README.md" && !strings.Contains(text, "`"+k.Name+"`") {
				t.Errorf("%s does not name the key `%s`", doc, k.Name)
			}
		}
		for _, name := range envRE.FindAllString(text, -1) {
			if !known[name] {
				t.Errorf("%s names %s, which no key reads", doc, name)
			}
		}
	}
}
