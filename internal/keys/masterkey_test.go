package keys

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/config"
)

func TestLoadMasterKey(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	b64 := base64.StdEncoding.EncodeToString(key)

	t.Run("the configured key wins over the file", func(t *testing.T) {
		got, created, err := LoadMasterKey(config.Secrets{MasterKey: b64, MasterKeyFile: filepath.Join(t.TempDir(), "k")})
		if err != nil || created || !bytes.Equal(got, key) {
			t.Fatalf("got %x, %v, %v", got, created, err)
		}
	})
	t.Run("a configured key of the wrong length is refused", func(t *testing.T) {
		_, _, err := LoadMasterKey(config.Secrets{MasterKey: base64.StdEncoding.EncodeToString(key[:16])})
		if err == nil || !strings.Contains(err.Error(), "secrets.master_key") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("neither key nor file is an error", func(t *testing.T) {
		if _, _, err := LoadMasterKey(config.Secrets{}); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("an absent file is created 0600 in a new 0700 directory and then reused", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		path := filepath.Join(dir, "master.key")
		first, created, err := LoadMasterKey(config.Secrets{MasterKeyFile: path})
		if err != nil || !created || len(first) != 32 {
			t.Fatalf("first load: %d bytes, created %v, err %v", len(first), created, err)
		}
		for _, c := range []struct {
			path string
			mode os.FileMode
		}{{path, 0o600}, {dir, 0o700}} {
			fi, err := os.Stat(c.path)
			if err != nil || fi.Mode().Perm() != c.mode {
				t.Fatalf("%s: mode %v, err %v; want %v", c.path, fi.Mode().Perm(), err, c.mode)
			}
		}
		text, _ := os.ReadFile(path)
		if decoded, err := config.DecodeMasterKey(string(text)); err != nil || !bytes.Equal(decoded, first) {
			t.Fatalf("file holds %q", text)
		}
		second, created, err := LoadMasterKey(config.Secrets{MasterKeyFile: path})
		if err != nil || created || !bytes.Equal(second, first) {
			t.Fatalf("second load: %x, created %v, err %v", second, created, err)
		}
		if leftovers, _ := filepath.Glob(filepath.Join(dir, ".master.key-*")); len(leftovers) > 0 {
			t.Fatalf("temporary files left: %v", leftovers)
		}
	})
	t.Run("an existing file is read", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "master.key")
		if err := os.WriteFile(path, []byte(b64+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		got, created, err := LoadMasterKey(config.Secrets{MasterKeyFile: path})
		if err != nil || created || !bytes.Equal(got, key) {
			t.Fatalf("got %x, %v, %v", got, created, err)
		}
	})
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		t.Run("a file with mode "+mode.String()+" is refused", func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "master.key")
			if err := os.WriteFile(path, []byte(b64), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			_, _, err := LoadMasterKey(config.Secrets{MasterKeyFile: path})
			if err == nil || !strings.Contains(err.Error(), "chmod 600") {
				t.Fatalf("err = %v, want a refusal naming chmod 600", err)
			}
		})
	}
	t.Run("a file that is not a key is refused", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "master.key")
		if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := LoadMasterKey(config.Secrets{MasterKeyFile: path}); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("a directory in place of the file is refused", func(t *testing.T) {
		path := t.TempDir()
		if _, _, err := LoadMasterKey(config.Secrets{MasterKeyFile: path}); err == nil {
			t.Fatal("no error")
		}
	})
}
