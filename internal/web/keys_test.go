package web

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/i18n"
)

// TestEveryMessageKeyOfThePagesExists reads the page surfaces' Go files and templates and fails when a
// string that looks like a message key is not in the catalogue: a typo would otherwise show the key on a
// page that no flow test happens to open (the rate-limit page, a throttled device code).
func TestEveryMessageKeyOfThePagesExists(t *testing.T) {
	t.Parallel()
	key := regexp.MustCompile(`"((?:layout|error|login|consent|scope|device|account|signed_out|wait|oidc|playground)\.[a-z_]+(?:\.[a-z_]+)*)"`)
	var files []string
	for _, pat := range []string{"../web/*.go", "../web/templates/*.html", "../login/*.go", "../login/templates/*.html",
		"../login/templates/partials/*.html", "../oidc/*.go", "../oidc/templates/*.html", "../playground/*.go",
		"../playground/templates/*.html"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	seen := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range key.FindAllStringSubmatch(string(src), -1) {
			seen++
			if k := m[1]; !strings.HasSuffix(k, ".html") && !i18n.Builtin.Has(i18n.Default, k) {
				t.Errorf("%s uses %q, which no message has", f, k)
			}
		}
	}
	if seen < 100 {
		t.Errorf("found only %d keys: the pattern or the file list is wrong", seen)
	}
}
