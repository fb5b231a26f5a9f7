package events

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Every Type constant of the package is in the webhook catalogue once, with a description, so that a
// subscription can name it and docs/EVENTS.md lists it.
func TestWebhookCatalogueListsEveryEventType(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]string{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if !strings.HasPrefix(n.Name, "Type") || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						declared[v] = n.Name
					}
				}
			}
		}
	}
	if len(declared) < 70 {
		t.Fatalf("found only %d Type constants; the parse is wrong", len(declared))
	}
	seen := map[string]bool{}
	for _, e := range Catalogue() {
		if seen[e.Type] {
			t.Errorf("%s is listed twice", e.Type)
		}
		seen[e.Type] = true
		if e.Description == "" {
			t.Errorf("%s has no description", e.Type)
		}
		if _, ok := declared[e.Type]; !ok {
			t.Errorf("%s is listed but no Type constant declares it", e.Type)
		}
	}
	for v, name := range declared {
		if !seen[v] {
			t.Errorf("%s (%q) is not in the catalogue", name, v)
		}
	}
	if !KnownType(TypeUserCreated) || KnownType("user.exploded") {
		t.Error("KnownType does not follow the catalogue")
	}
}

// docs/EVENTS.md lists the whole catalogue, one table row per type.
func TestWebhookCatalogueIsDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/EVENTS.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range Catalogue() {
		if !strings.Contains(string(doc), "| `"+e.Type+"` | "+e.Description+" |") {
			t.Errorf("docs/EVENTS.md has no row for %s with its description", e.Type)
		}
	}
}
