package config

import (
	"errors"
	"strings"
	"testing"
)

func TestKubernetesServiceVariablesAreIgnoredSilently(t *testing.T) {
	// What Kubernetes injects into every pod of a namespace with a Service named umm.
	env := []string{
		"UMM_PORT=tcp://10.0.0.1:8080",
		"UMM_PORT_8080_TCP=tcp://10.0.0.1:8080",
		"UMM_PORT_8080_TCP_ADDR=10.0.0.1",
		"UMM_PORT_8080_TCP_PORT=8080",
		"UMM_PORT_8080_TCP_PROTO=tcp",
		"UMM_SERVICE_HOST=10.0.0.1",
		"UMM_SERVICE_PORT=8080",
		"UMM_SERVICE_PORT_HTTP=8080",
	}
	c, err := Load("", env)
	if err != nil {
		t.Fatalf("Load with the Kubernetes service variables: %v", err)
	}
	def := Default()
	if c.Server.Addr != def.Server.Addr || c.Server.PublicURL != def.Server.PublicURL {
		t.Errorf("server = %+v, want the defaults: the service variables are not settings", c.Server)
	}
	if w := EnvWarnings(env); len(w) != 0 {
		t.Errorf("EnvWarnings = %q, want none for the Kubernetes service variables", w)
	}
}

func TestUnknownVariablesAreWarningsNamingTheClosestKey(t *testing.T) {
	tests := []struct {
		name, env, want string
	}{
		{"a typo names the variable it resembles", "UMM_SERVER_PUBLIK_URL=https://x", "UMM_SERVER_PUBLIC_URL (server.public_url)"},
		{"a missing word names the full variable", "UMM_DATABASE=postgres://x", "UMM_DATABASE_URL (database.url)"},
		{"a transposition names the variable", "UMM_LOG_LVEEL=debug", "UMM_LOG_LEVEL (log.level)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Load("", []string{tt.env}); err != nil {
				t.Fatalf("Load(%s) = %v, want success: an unknown variable is a warning", tt.env, err)
			}
			w := EnvWarnings([]string{tt.env, "UMM_LOG_LEVEL=warn", "PATH=/bin"})
			if len(w) != 1 {
				t.Fatalf("EnvWarnings = %q, want exactly one warning", w)
			}
			name, _, _ := strings.Cut(tt.env, "=")
			if !strings.HasPrefix(w[0], name+" is not a UMM setting") || !strings.Contains(w[0], tt.want) {
				t.Errorf("warning = %q, want it to name %s and suggest %s", w[0], name, tt.want)
			}
		})
	}
	t.Run("known and test-suite variables are not reported", func(t *testing.T) {
		if w := EnvWarnings([]string{"UMM_LOG_LEVEL=warn", "UMM_TEST_POSTGRES_URL=postgres://x", "HOME=/root"}); len(w) != 0 {
			t.Errorf("EnvWarnings = %q, want none", w)
		}
	})
}

func TestValidationProblemsNameTheVariableThatSetTheValue(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want []string
	}{
		{"a bad level from the environment names UMM_LOG_LEVEL", []string{"UMM_LOG_LEVEL=loud"}, []string{"log.level (UMM_LOG_LEVEL): \"loud\""}},
		{"a bad address names UMM_SERVER_ADDR", []string{"UMM_SERVER_ADDR=8080"}, []string{"server.addr (UMM_SERVER_ADDR):"}},
		{"a bad tenant in UMM_TENANTS names the variable", []string{"UMM_TENANTS=[{id: Bad_ID}]"}, []string{"tenants[0].id (UMM_TENANTS):"}},
		{"an unknown key in UMM_TENANTS names the variable", []string{"UMM_TENANTS=[{id: a, nmae: A}]"}, []string{"tenants[0].nmae (UMM_TENANTS): unknown key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("", tt.env)
			var p Problems
			if !errors.As(err, &p) {
				t.Fatalf("Load = %v, want Problems", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
	t.Run("a bad value from the file does not name a variable", func(t *testing.T) {
		_, err := Load(writeFile(t, "log:\n  level: loud\n"), nil)
		if err == nil || !strings.Contains(err.Error(), "log.level: \"loud\"") || strings.Contains(err.Error(), "UMM_") {
			t.Errorf("err = %v, want log.level named without a variable", err)
		}
	})
}

func TestYAMLSyntaxErrorsCarryAHint(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"a tab in the indentation is named with its line", "server:\n\taddr: localhost:9000\n", []string{"line 2 is indented with a tab", "only spaces"}},
		{"a key indented deeper than its siblings asks to check the indentation", "server:\n  addr: localhost:9000\n    public_url: http://x\n", []string{"check the indentation around line 3"}},
		{"a list item out of line asks to check the indentation", "tenants:\n  - id: a\n - id: b\n", []string{"check the indentation"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeFile(t, tt.yaml), nil)
			if err == nil {
				t.Fatal("Load succeeded, want a syntax error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "abc", 0}, {"abc", "abd", 1}, {"abc", "ab", 1}, {"kitten", "sitting", 3}} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
