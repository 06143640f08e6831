package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/viper"
	"github.com/subosito/gotenv"
)

// readYAML loads the YAML layer and returns its path ("" when none).
func readYAML(v *viper.Viper, explicit string) (string, error) {
	path := explicit
	if path == "" {
		if _, err := os.Stat("switchboard.yaml"); err != nil {
			return "", nil
		}
		path = "switchboard.yaml"
	}
	v.SetConfigFile(path)
	v.SetConfigType("yaml")
	if err := v.ReadInConfig(); err != nil {
		return "", fmt.Errorf("config: reading %s: %w", path, err)
	}
	return filepath.Base(path), nil
}

func readDotenv(explicit string) (map[string]string, error) {
	path := explicit
	if path == "" {
		path = ".env"
		if _, err := os.Stat(path); err != nil {
			return nil, nil
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: reading %s: %w", path, err)
	}
	defer f.Close()
	env, err := gotenv.StrictParse(f)
	if err != nil {
		return nil, dotenvError(path, err)
	}
	return env, nil
}

// dotenvLineRE finds the line gotenv quotes in its errors, and dotenvNameRE
// the variable a line sets.
var (
	dotenvLineRE = regexp.MustCompile("(?s)line `(.*)`")
	dotenvNameRE = regexp.MustCompile(`^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)`)
)

// dotenvError says which line of a .env file is malformed without quoting
// it: gotenv's own error quotes the whole line, secret included.
func dotenvError(path string, err error) error {
	const notShown = "the line is not shown, as it may hold a secret"
	m := dotenvLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return fmt.Errorf("config: parsing %s: a quoted value is not closed, or a line is not NAME=value (%s)", path, notShown)
	}
	where := "a line"
	if b, rerr := os.ReadFile(path); rerr == nil {
		for i, line := range strings.Split(string(b), "\n") {
			if strings.TrimRight(line, "\r") == m[1] {
				where = fmt.Sprintf("line %d", i+1)
				break
			}
		}
	}
	if name := dotenvNameRE.FindStringSubmatch(m[1]); name != nil {
		where += " (" + name[1] + ")"
	}
	return fmt.Errorf("config: parsing %s: %s is not NAME=value, or uses an unset ${VARIABLE}; %s", path, where, notShown)
}

func setNested(m map[string]any, dotted string, val string) {
	parts := strings.Split(dotted, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = val
}

// Need says which parts of the configuration a command uses, so that
// `setup` does not demand Twilio credentials and `demo` demands nothing.
