package umm_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// docRef finds what looks like a path to a Markdown document: README.md, docs/DESIGN.md, ../x/NOTES.md.
// The examples in this file's own tests are not citations, so the file is not scanned.
var docRef = regexp.MustCompile(`/?(?:\.\.?/)*(?:[\w.-]+/)*[\w-]+\.md\b`)

// generatedDocs are documents that programs write at run time, so they are cited before they exist.
var generatedDocs = map[string]string{
	"results.md": "the load harness (bench/load) writes its table there",
}

// docCitations returns the document paths that text cites, without those inside URLs.
func docCitations(text string) []string {
	var refs []string
	for _, loc := range docRef.FindAllStringIndex(text, -1) {
		if loc[0] > 0 && strings.ContainsRune(":/@", rune(text[loc[0]-1])) {
			continue // part of a URL or another absolute name, not a path in this repository
		}
		refs = append(refs, text[loc[0]:loc[1]])
	}
	return refs
}

// resolveDoc says where the document ref, cited by the file at from, is in the repository: a path from
// the repository root, or one relative to the citing file (as Markdown links are). It returns "" when
// neither exists, and outside=true when the path leaves the repository.
func resolveDoc(root, from, ref string) (found string, outside bool) {
	if strings.HasPrefix(ref, "/") {
		return "", true
	}
	for _, base := range []string{".", filepath.Dir(from)} {
		p := filepath.Clean(filepath.Join(base, filepath.FromSlash(ref)))
		if p == ".." || strings.HasPrefix(p, ".."+string(filepath.Separator)) {
			outside = true
			continue
		}
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			return filepath.ToSlash(p), false
		}
	}
	return "", outside
}

// TestCitedDocumentsExist: every document the code, the tests, the scripts and the documents cite is in
// the repository, so a reader who follows a reference finds it, and nothing points outside the
// repository (a file beside a checkout is not part of the project).
func TestCitedDocumentsExist(t *testing.T) {
	skipDirs := []string{".git", "bin", "data", "testdata", "node_modules", filepath.Join("bench", "out"), filepath.Join("bench", "hydra", "bin")}
	scanned := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "." && slices.Contains(skipDirs, path) || slices.Contains(skipDirs, d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if path == "docs_test.go" {
			return nil
		}
		switch filepath.Ext(path) {
		case ".go", ".md", ".sh", ".yaml", ".yml", ".sql", ".html", ".txt":
		default:
			if filepath.Dir(path) != ".ci" {
				return nil
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		scanned++
		for _, ref := range docCitations(string(b)) {
			if _, ok := generatedDocs[filepath.Base(ref)]; ok {
				continue
			}
			found, outside := resolveDoc(".", path, ref)
			switch {
			case found != "":
			case outside:
				t.Errorf("%s cites %s, which is outside the repository: cite a document in the repository", path, ref)
			default:
				t.Errorf("%s cites %s, which does not exist in the repository", path, ref)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned == 0 {
		t.Fatal("no files scanned: run the test from the module root")
	}
}

func TestDocCitations(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"a path in prose", "see docs/DESIGN.md for the layout", []string{"docs/DESIGN.md"}},
		{"a bare name in backquotes", "`README.md` documents every key", []string{"README.md"}},
		{"a relative path", "Read `../notes/GUIDE.md` first", []string{"../notes/GUIDE.md"}},
		{"an absolute path", "at /srv/notes/PLAN.md", []string{"/srv/notes/PLAN.md"}},
		{"a URL is not a path here", "https://example.com/docs/README.md", nil},
		{"go.mod is not a document", "go.mod and go.sum", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := docCitations(tt.text); !slices.Equal(got, tt.want) {
				t.Errorf("docCitations(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestResolveDoc(t *testing.T) {
	tests := []struct {
		name, from, ref string
		found           string
		outside         bool
	}{
		{"a path from the root", "internal/oidc/provider.go", "docs/DESIGN.md", "docs/DESIGN.md", false},
		{"a path relative to the citing file", "bench/load/main.go", "../README.md", "bench/README.md", false},
		{"a missing document", "doc.go", "ARCHITECTURE.md", "", false},
		{"a document beside the repository", "docs/DESIGN.md", "../../notes/GUIDE.md", "", true},
		{"an absolute path", "docs/DESIGN.md", "/etc/README.md", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			found, outside := resolveDoc(".", tt.from, tt.ref)
			if found != tt.found || outside != tt.outside {
				t.Errorf("resolveDoc(%q, %q) = %q, %v; want %q, %v", tt.from, tt.ref, found, outside, tt.found, tt.outside)
			}
		})
	}
}
