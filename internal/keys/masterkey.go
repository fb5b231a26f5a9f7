package keys

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/umm-project/umm/internal/config"
)

// LoadMasterKey returns the 32-byte master key: secrets.master_key when set, otherwise the contents of
// secrets.master_key_file. An absent file is created with 32 random bytes in base64 (mode 0600, its
// parent directory 0700 when absent) and created is true. A file readable or writable by group or others
// is refused: whoever reads it can decrypt every secret at rest.
func LoadMasterKey(cfg config.Secrets) (key []byte, created bool, err error) {
	if cfg.MasterKey != "" {
		key, err := config.DecodeMasterKey(cfg.MasterKey)
		if err != nil {
			return nil, false, fmt.Errorf("secrets.master_key: %w", err)
		}
		return key, false, nil
	}
	path := cfg.MasterKeyFile
	if path == "" {
		return nil, false, errors.New("master key: set secrets.master_key or secrets.master_key_file")
	}
	key, err = readMasterKeyFile(path)
	if err == nil {
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	key, created, err = createMasterKeyFile(path)
	if err != nil {
		return nil, false, err
	}
	return key, created, nil
}

func readMasterKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("master key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("master key file %s is not a regular file", path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("master key file %s has mode %04o: it must be readable by its owner only (run chmod 600 %s)",
			path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	key, err := config.DecodeMasterKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return key, nil
}

// createMasterKeyFile writes a new key to a temporary file and links it into place, so that a concurrent
// reader never sees a partial key and two processes starting together end up with the same key.
func createMasterKeyFile(path string) ([]byte, bool, error) {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, false, fmt.Errorf("create master key directory: %w", err)
		}
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	text := base64.StdEncoding.EncodeToString(key) + "\n"

	tmp, err := os.CreateTemp(dir, ".master.key-*")
	if err != nil {
		return nil, false, fmt.Errorf("create master key file: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return nil, false, fmt.Errorf("create master key file: %w", err)
	}
	if _, err := tmp.WriteString(text); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("write master key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("write master key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, false, fmt.Errorf("write master key file: %w", err)
	}
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process created it first: use theirs.
			key, err := readMasterKeyFile(path)
			return key, false, err
		}
		// Hard links unsupported: fall back to an exclusive create.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			if errors.Is(err, fs.ErrExist) {
				key, err := readMasterKeyFile(path)
				return key, false, err
			}
			return nil, false, fmt.Errorf("create master key file: %w", err)
		}
		_, werr := f.WriteString(text)
		serr := f.Sync()
		cerr := f.Close()
		if err := errors.Join(werr, serr, cerr); err != nil {
			return nil, false, fmt.Errorf("write master key file: %w", err)
		}
	}
	if d, err := os.Open(dir); err == nil { // make the new directory entry durable
		_ = d.Sync()
		d.Close()
	}
	return key, true, nil
}
