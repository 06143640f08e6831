package arch

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/switchboard/switchboard/"

// allowed is README "Architecture": the project packages each package's
// non-test code may import. Leaves — rules and helpers with no project
// dependency — may be imported by anyone listed with them.
var (
	leaves  = []string{"sfdc/soql", "sfdc/schema", "internal/endpoint", "internal/jitter"}
	allowed = map[string][]string{
		"sync":       leaves,
		"sfdc":       append([]string{"sync"}, leaves...),
		"twilio":     append([]string{"sync"}, leaves...),
		"sync/store": append([]string{"sync", "config"}, leaves...),
		"config":     leaves,
		// The simulators play the services: none of the client's code. The
		// simulated org reads the contract (SPEC §1), as a real org has it
		// deployed.
		"sfdc/sfdctest":         {"sfdc/schema"},
		"twilio/twiliotest":     nil,
		"sfdc/metadata/browser": nil,
		"sfdc/soql":             nil,
		"sfdc/schema":           nil,
		"internal/endpoint":     nil,
		"internal/jitter":       nil,
		"internal/testclock":    nil, // for tests: not a leaf, so no listed package's code may import it
		"internal/arch":         nil,
	}
)

func TestImportRule(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		if strings.HasPrefix(pkg, "cmd/") {
			return nil // commands wire everything
		}
		ok, listed := allowed[pkg]
		if !listed {
			t.Errorf("%s: package %s is not in the import rule (README Architecture, allowed here)", path, pkg)
			return nil
		}
		seen[pkg] = true
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if dep, ours := strings.CutPrefix(p, module); ours && !slices.Contains(ok, dep) {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s imports %s; %s may import only %v (README Architecture)", rel, dep, pkg, ok)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"sync", "sfdc", "twilio", "config"} {
		if !seen[pkg] {
			t.Errorf("no Go files read for %s: is the walk rooted at the module?", pkg)
		}
	}
}
