package umm_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/umm-project/umm"

// Groups of internal packages (ARCHITECTURE.md "Import direction"). A package's subpackages (store/storetest,
// server/servertest) belong to its group and may import it.
var (
	base     = []string{"config", "store", "keys", "notify"}
	core     = []string{"identity", "session", "federation", "rules"}
	surfaces = []string{"oidc", "saml", "login", "admin", "scim", "playground"}
)

// allowed maps each top-level package (internal/<name>, or cmd/umm) to the internal packages it may import.
// "*" means everything.
func allowed() map[string][]string {
	surfaceDeps := slices.Concat([]string{"web", "events"}, core, base)
	m := map[string][]string{
		"config": {},
		"store":  {"config"},
		"keys":   {"store", "config"},
		"notify": {"config"},
		"events": {"notify", "store", "config"},
		"web":    {"config"},
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
// UMM package against ARCHITECTURE.md: surfaces never import each other, the core never imports another core
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
				problems = append(problems, path+": package "+from+" is not in the layout; add it to ARCHITECTURE.md and layout_test.go")
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
