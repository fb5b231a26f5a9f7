package umm_test

import (
	"os"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/config"
)

// TestREADMEDocumentsEveryConfigurationKey: the README's configuration reference names every key the
// configuration has, with its environment variable, so a new key cannot ship undocumented.
func TestREADMEDocumentsEveryConfigurationKey(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for env, path := range config.EnvNames() {
		if !strings.Contains(readme, "| `"+path+"` | `"+env+"` |") {
			t.Errorf("README.md has no configuration table row for %s (%s)", path, env)
		}
	}
}
