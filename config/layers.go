package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/pflag"
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

// layers is what Load read, before decoding: viper with every layer
// applied, and the raw layers Source is worked out from.
type layers struct {
	v         *viper.Viper
	fileLayer string            // the YAML file's path, "" when none
	dotenv    map[string]string // the .env file
	realEnv   map[string]string // SWITCHBOARD_* of the environment
}

// readLayers applies defaults < switchboard.yaml < .env < environment <
// flags to one viper.
func readLayers(opts LoadOptions) (*layers, error) {
	v := viper.New()
	for _, k := range Keys {
		if k.Default != "" {
			v.SetDefault(k.Name, k.Default)
		}
	}
	fileLayer, err := readYAML(v, opts.ConfigFile)
	if err != nil {
		return nil, err
	}
	// The .env file sits between the environment and the YAML file, which
	// viper has no layer for: merge it over the YAML (config layer), so the
	// real environment and flags still win.
	dotenv, err := readDotenv(opts.EnvFile)
	if err != nil {
		return nil, err
	}
	envMap := map[string]any{}
	for _, k := range Keys {
		// An empty line copied from .env.example (KEY=) means "not set
		// here", not "set to empty over switchboard.yaml".
		if val := dotenv[k.Env()]; val != "" {
			setNested(envMap, k.Name, val)
		}
	}
	if len(envMap) > 0 {
		if err := v.MergeConfigMap(envMap); err != nil {
			return nil, fmt.Errorf("config: merging .env: %w", err)
		}
	}

	environ := opts.Environ
	if environ == nil {
		environ = os.Environ()
	}
	realEnv := map[string]string{}
	for _, kv := range environ {
		if name, val, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(name, EnvPrefix+"_") {
			realEnv[name] = val
		}
	}
	// Bind explicitly rather than AutomaticEnv so that a test's Environ is
	// honoured and unknown SWITCHBOARD_ variables can be reported.
	for _, k := range Keys {
		// Empty counts as unset, as viper's AllowEmptyEnv(false) would.
		if val := realEnv[k.Env()]; val != "" {
			v.Set(k.Name, val) // replaced below by flags, which outrank env
		}
	}
	if opts.Flags != nil {
		for _, k := range Keys {
			if f := opts.Flags.Lookup(k.Name); f != nil && f.Changed {
				v.Set(k.Name, f.Value.String())
			}
		}
	}
	return &layers{v: v, fileLayer: fileLayer, dotenv: dotenv, realEnv: realEnv}, nil
}

// sources says, for every key, which layer its value came from.
func (l *layers) sources(flags *pflag.FlagSet) map[string]string {
	out := map[string]string{}
	for _, k := range Keys {
		src := "default"
		switch {
		case flags != nil && flags.Lookup(k.Name) != nil && flags.Lookup(k.Name).Changed:
			src = "flag"
		case l.realEnv[k.Env()] != "":
			src = "env " + k.Env()
		case l.dotenv[k.Env()] != "":
			src = ".env"
		case l.fileLayer != "" && l.v.InConfig(k.Name):
			src = l.fileLayer
		case k.Default == "":
			src = "unset"
		}
		out[k.Name] = src
	}
	return out
}
