package keys

import (
	"bytes"
	"errors"
	"testing"
)

func testMaster(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestSealAndOpen(t *testing.T) {
	kr := NewKeyring(testMaster(1))
	plain := []byte("private key material")
	aad := []byte("tenant-a|kid-1")
	sealed, err := kr.Seal(plain, aad)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a sealed value opens with the same aad", func(t *testing.T) {
		got, err := kr.Open(sealed, aad)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("Open = %q, %v", got, err)
		}
	})
	t.Run("sealing twice gives different ciphertexts", func(t *testing.T) {
		again, _ := kr.Seal(plain, aad)
		if bytes.Equal(again, sealed) {
			t.Fatal("nonce reused")
		}
	})
	t.Run("the plaintext does not appear in the sealed value", func(t *testing.T) {
		if bytes.Contains(sealed, plain) {
			t.Fatal("plaintext visible")
		}
	})
	flip := func(i int) []byte {
		c := bytes.Clone(sealed)
		c[i] ^= 0x01
		return c
	}
	tests := []struct {
		name   string
		kr     *Keyring
		sealed []byte
		aad    []byte
	}{
		{"a flipped version byte fails", kr, flip(0), aad},
		{"a flipped nonce byte fails", kr, flip(3), aad},
		{"a flipped ciphertext byte fails", kr, flip(1 + 12 + 2), aad},
		{"a flipped tag byte fails", kr, flip(len(sealed) - 1), aad},
		{"a truncated value fails", kr, sealed[:len(sealed)-1], aad},
		{"an empty value fails", kr, nil, aad},
		{"another aad (another tenant) fails", kr, sealed, []byte("tenant-b|kid-1")},
		{"another aad (another kid) fails", kr, sealed, []byte("tenant-a|kid-2")},
		{"a missing aad fails", kr, sealed, nil},
		{"another master key fails", NewKeyring(testMaster(2)), sealed, aad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.kr.Open(tt.sealed, tt.aad)
			if !errors.Is(err, ErrOpen) || got != nil {
				t.Fatalf("Open = %q, %v; want ErrOpen", got, err)
			}
		})
	}
}

func TestHashSecret(t *testing.T) {
	kr := NewKeyring(testMaster(1))
	hash := kr.HashSecret("client-secret-1")
	tests := []struct {
		name   string
		kr     *Keyring
		secret string
		hash   []byte
		want   bool
	}{
		{"the right secret passes", kr, "client-secret-1", hash, true},
		{"another secret fails", kr, "client-secret-2", hash, false},
		{"an empty secret fails", kr, "", hash, false},
		{"an empty hash fails", kr, "client-secret-1", nil, false},
		{"a truncated hash fails", kr, "client-secret-1", hash[:16], false},
		{"another master key fails", NewKeyring(testMaster(2)), "client-secret-1", hash, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.kr.CheckSecret(tt.secret, tt.hash); got != tt.want {
				t.Fatalf("CheckSecret = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("the hash is 32 bytes and stable", func(t *testing.T) {
		if len(hash) != 32 || !bytes.Equal(hash, NewKeyring(testMaster(1)).HashSecret("client-secret-1")) {
			t.Fatalf("hash %x not stable", hash)
		}
	})
}

func TestMAC(t *testing.T) {
	kr := NewKeyring(testMaster(1))
	data := []byte("data")
	tests := []struct {
		name string
		a, b []byte
		same bool
	}{
		{"the same label and data give the same MAC", kr.MAC("csrf", data), kr.MAC("csrf", data), true},
		{"another label gives another MAC", kr.MAC("csrf", data), kr.MAC("seed", data), false},
		{"other data gives another MAC", kr.MAC("csrf", data), kr.MAC("csrf", []byte("datb")), false},
		{"another master key gives another MAC", kr.MAC("csrf", data), NewKeyring(testMaster(2)).MAC("csrf", data), false},
		{"a MAC labelled like client secrets is not the secret hash", kr.MAC("client secret", data), kr.HashSecret("data"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if bytes.Equal(tt.a, tt.b) != tt.same {
				t.Fatalf("MACs %x and %x: same = %v, want %v", tt.a, tt.b, !tt.same, tt.same)
			}
		})
	}
}

func TestNewKeyringRefusesAShortMasterKey(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a 16-byte master key")
		}
	}()
	NewKeyring(make([]byte, 16))
}
