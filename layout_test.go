package umm_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/umm-project/umm"

// Groups of internal packages (docs/DESIGN.md, import direction). A package's subpackages (store/storetest,
// server/servertest) belong to its group and may import it. The lists name exactly the packages that exist
// (TestLayoutListsExactlyTheExistingPackages): a new package is added here, with its place in the
// direction, in the change that creates it.
var (
	base     = []string{"config", "store", "keys", "i18n", "notify"}
	core     = []string{"identity", "session", "risk", "federation", "authz"}
	surfaces = []string{"oidc", "login", "admin", "playground", "saml"}
)

// allowed maps each top-level package (internal/<name>, or cmd/umm) to the internal packages it may import.
// "*" means everything.
func allowed() map[string][]string {
	surfaceDeps := slices.Concat([]string{"web", "events"}, core, base)
	m := map[string][]string{
		"config": {},
		"i18n":   {},
		"store":  {"config"},
		"keys":   {"store", "config"},
		"notify": {"config", "i18n"},
		"events": {"store", "config", "notify"},
		"web":    {"config", "i18n"},
		"server": {"*"},
		// cmd/umm builds everything through server; it names admin's input types and keys.Secret.
		"cmd/umm": {"server", "config", "store", "admin", "keys"},
	}
	for _, c := range core {
		m[c] = []string{"events", "keys", "store", "config"}
	}
	for _, s := range surfaces {
		m[s] = surfaceDeps
	}
	return m
}

// owner returns the top-level package a directory belongs to ("internal/store/storetest" -> "store"),
// or "" for directories outside internal/ and cmd/umm.
func owner(dir string) string {
	dir = filepath.ToSlash(dir)
	if dir == "cmd/umm" || strings.HasPrefix(dir, "cmd/umm/") {
		return "cmd/umm"
	}
	rest, ok := strings.CutPrefix(dir, "internal/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	return name
}

// TestImportDirection parses every non-test Go file under internal/ and cmd/ and checks each import of a
// UMM package against the import direction: surfaces never import each other, the core never imports another core
// package, the base imports only what is below it, and only server wires everything.
func TestImportDirection(t *testing.T) {
	rules := allowed()
	fset := token.NewFileSet()
	var problems []string
	checked := 0
	for _, root := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_") {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			dir := filepath.Dir(path)
			from := owner(dir)
			if from == "" {
				problems = append(problems, path+": only cmd/umm is a command; put code under internal/")
				return nil
			}
			allow, known := rules[from]
			if !known {
				problems = append(problems, path+": package "+from+" is not in the layout; add it to docs/DESIGN.md and layout_test.go")
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			checked++
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				rel, ok := strings.CutPrefix(p, module+"/")
				if !ok {
					continue
				}
				to := owner(rel)
				switch {
				case to == from:
					// A package and its subpackages.
				case to == "":
					problems = append(problems, path+": imports "+p+", which is outside internal/")
				case slices.Contains(allow, "*"), slices.Contains(allow, to):
				default:
					problems = append(problems, path+": "+from+" must not import "+to+" (allowed: "+strings.Join(allow, ", ")+")")
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walk %s: %v", root, err)
		}
	}
	if checked == 0 {
		t.Fatal("no Go files found under internal/ and cmd/: run the test from the module root")
	}
	sort.Strings(problems)
	for _, p := range problems {
		t.Error(p)
	}
}

func TestOwner(t *testing.T) {
	tests := []struct{ dir, want string }{
		{"internal/store", "store"},
		{"internal/store/storetest", "store"},
		{"internal/server/servertest", "server"},
		{"cmd/umm", "cmd/umm"},
		{"sdk/go", ""},
	}
	for _, tt := range tests {
		t.Run(tt.dir+" belongs to "+tt.want, func(t *testing.T) {
			if got := owner(tt.dir); got != tt.want {
				t.Errorf("owner(%q) = %q, want %q", tt.dir, got, tt.want)
			}
		})
	}
}

// existingPackages returns the top-level packages (as owner names them) that have Go files under internal/
// and cmd/, test-only packages included.
func existingPackages(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, root := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_") {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(path, ".go") {
				if o := owner(filepath.Dir(path)); o != "" {
					seen[o] = true
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walk %s: %v", root, err)
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// layoutMismatch compares the packages the layout lists with those that exist and says what differs.
func layoutMismatch(listed, existing []string) []string {
	var problems []string
	for _, p := range existing {
		if !slices.Contains(listed, p) {
			problems = append(problems, "package "+p+" exists but the layout does not list it: add it to layout_test.go with its place in the import direction")
		}
	}
	for _, p := range listed {
		if !slices.Contains(existing, p) {
			problems = append(problems, "the layout lists package "+p+", which does not exist: remove it from layout_test.go")
		}
	}
	sort.Strings(problems)
	return problems
}

// TestLayoutListsExactlyTheExistingPackages: the import rules describe the code as it is, so a rule for a
// package that does not exist (yet) is as wrong as a package without a rule.
func TestLayoutListsExactlyTheExistingPackages(t *testing.T) {
	existing := existingPackages(t)
	if len(existing) == 0 {
		t.Fatal("no packages found under internal/ and cmd/: run the test from the module root")
	}
	for _, p := range layoutMismatch(slices.Sorted(maps.Keys(allowed())), existing) {
		t.Error(p)
	}
}

func TestLayoutMismatch(t *testing.T) {
	tests := []struct {
		name             string
		listed, existing []string
		want             []string
	}{
		{"the same packages agree", []string{"config", "store"}, []string{"config", "store"}, nil},
		{"a package without a rule is reported", []string{"config"}, []string{"config", "playground"},
			[]string{"package playground exists but the layout does not list it: add it to layout_test.go with its place in the import direction"}},
		{"a rule for a package that does not exist is reported", []string{"config", "saml"}, []string{"config"},
			[]string{"the layout lists package saml, which does not exist: remove it from layout_test.go"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := layoutMismatch(tt.listed, tt.existing); !slices.Equal(got, tt.want) {
				t.Errorf("layoutMismatch(%q, %q) = %q, want %q", tt.listed, tt.existing, got, tt.want)
			}
		})
	}
}
