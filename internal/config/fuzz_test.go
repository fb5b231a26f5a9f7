package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
)

// checkLoad checks what must hold for any input: Load answers a Problems list (every problem a line of
// text) or a configuration, and an accepted configuration written back as YAML loads to the same one.
func checkLoad(t *testing.T, cfg Config, err error) {
	t.Helper()
	if err != nil {
		var p Problems
		if !errors.As(err, &p) || len(p) == 0 {
			t.Fatalf("Load error %T %q is not a list of problems", err, err)
		}
		for _, line := range p {
			if line == "" {
				t.Fatalf("Load reported an empty problem among %q", p)
			}
		}
		return
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatalf("marshal an accepted configuration: %v", err)
	}
	path := filepath.Join(t.TempDir(), "again.yaml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	again, err := Load(path, nil)
	if err != nil {
		t.Fatalf("an accepted configuration, written back as YAML, is refused: %v\n%s", err, out)
	}
	if out2, _ := yaml.Marshal(again); string(out2) != string(out) {
		t.Fatalf("an accepted configuration does not survive a round trip:\n%s\nbecame\n%s", out, out2)
	}
}

// FuzzConfigFile: the YAML configuration file.
func FuzzConfigFile(f *testing.F) {
	for _, s := range []string{
		"server:\n  addr: 0.0.0.0:8080\n  public_url: https://id.example.com\nlog:\n  level: info\n",
		"server:\n  read_timeout: soon\n  bogus: 1\n",
		"server:\n\taddr: x\n",
		"security:\n  trusted_proxies: [10.0.0.0/8, 192.168.0.0/16]\n  argon2_parallelism: 300\n",
		"keys:\n  rotation_interval: 0\n",
		"sms:\n  provider: webhook\n  url: https://sms.example.com/umm?k=1\n  secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n  timeout: 3s\n",
		"sms:\n  provider: twilio\n  account_sid: AC1\n  secret: token\n  from: MG1\n",
		"tenants:\n  - id: acme\n    name: Acme\n    settings:\n      code_ttl: 60s\n    clients:\n      - client_id: web\n        client_secret: change-me-to-a-long-random-value\n        redirect_uris: [https://app.example.com/cb]\n    users:\n      - email: a@example.com\n        password: Correct-Horse-9\n",
		"tenants: {}\n",
		"- a\n- b\n",
		"server: &a\n  addr: *a\n",
		"",
		"\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "umm.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path, nil)
		checkLoad(t, cfg, err)
	})
}

// FuzzConfigEnvironment: one UMM_* environment variable.
func FuzzConfigEnvironment(f *testing.F) {
	for _, s := range []struct{ key, value string }{
		{"SERVER_ADDR", "0.0.0.0:8080"},
		{"SERVER_MAX_BODY_BYTES", "abc"},
		{"SERVER_READ_TIMEOUT", "90s"},
		{"KEYS_ROTATION_INTERVAL", "-1h"},
		{"SECURITY_TRUSTED_PROXIES", "10.0.0.0/8,::1/128"},
		{"SECURITY_ARGON2_PARALLELISM", "256"},
		{"LOG_LEVEL", "loud"},
		{"TENANTS", "- id: acme\n  name: Acme\n"},
		{"TENANTS", "not a list"},
		{"BOGUS", "1"},
		{"PORT", "tcp://10.0.0.1:8080"},
	} {
		f.Add(s.key, s.value)
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		cfg, err := Load("", []string{"UMM_" + key + "=" + value})
		checkLoad(t, cfg, err)
	})
}
