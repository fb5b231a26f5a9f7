package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWebhooksConfig(t *testing.T) {
	t.Parallel()
	t.Run("by default private targets are refused and an attempt lasts at most 5s", func(t *testing.T) {
		c := Default()
		if c.Webhooks.AllowPrivateTargets || c.Webhooks.Timeout.D() != 5*time.Second {
			t.Errorf("default webhooks = %+v", c.Webhooks)
		}
	})
	t.Run("the environment sets both keys", func(t *testing.T) {
		c, err := Load("", []string{"UMM_WEBHOOKS_ALLOW_PRIVATE_TARGETS=true", "UMM_WEBHOOKS_TIMEOUT=2s"})
		if err != nil {
			t.Fatal(err)
		}
		if !c.Webhooks.AllowPrivateTargets || c.Webhooks.Timeout.D() != 2*time.Second {
			t.Errorf("webhooks = %+v", c.Webhooks)
		}
	})
	t.Run("the file sets them under webhooks", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "umm.yaml")
		if err := os.WriteFile(path, []byte("webhooks:\n  allow_private_targets: true\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !c.Webhooks.AllowPrivateTargets {
			t.Errorf("webhooks = %+v", c.Webhooks)
		}
	})
	t.Run("a timeout that is not positive is refused by name", func(t *testing.T) {
		_, err := Load("", []string{"UMM_WEBHOOKS_TIMEOUT=0s"})
		if err == nil || !strings.Contains(err.Error(), "webhooks.timeout") {
			t.Errorf("Load = %v, want a problem naming webhooks.timeout", err)
		}
	})
}
