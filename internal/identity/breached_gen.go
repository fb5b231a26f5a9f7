//go:build ignore

// breached_gen turns a ranked list of common or breached passwords (one per line, most common first) into
// breached_passwords.bin, the compact table embedded by breached.go. breached_passwords.md says where the
// list comes from and how to run this program.
//
// Each entry is folded (NFKC, Unicode case folding, NFKC: the form the policy compares), entries shorter
// than 4 characters are skipped (neither a whole password nor the core of one is looked up that short),
// and the first -n distinct folded entries are kept. Each becomes a 38-bit fingerprint: the first 8 bytes
// of SHA-256(breachedKey + folded entry); the top 14 bits choose a bucket, the next 24 bits are stored.
//
// File layout (integers little-endian): the 8-byte magic "UMMBPL1\n"; uint32 bucket bits; uint32 entry
// count; (1<<bucket bits)+1 uint32 bucket start indexes; then count 3-byte big-endian remainders, sorted
// within each bucket. fold and fingerprint here must match breached.go (TestBreachedListHoldsTheSourceEntries).
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"os"
	"slices"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

const (
	breachedKey = "umm breached-password list v1\x00"
	bucketBits  = 14
	minEntryLen = 4
)

func fold(s string) string { return norm.NFKC.String(cases.Fold().String(norm.NFKC.String(s))) }

func fingerprint(folded string) uint64 {
	sum := sha256.Sum256([]byte(breachedKey + folded))
	return binary.BigEndian.Uint64(sum[:8]) >> (64 - bucketBits - 24)
}

func main() {
	in := flag.String("in", "", "ranked password list, one per line")
	out := flag.String("out", "breached_passwords.bin", "table to write")
	n := flag.Int("n", 200000, "distinct folded entries to keep")
	flag.Parse()
	f, err := os.Open(*in)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	fps := map[uint64]bool{}
	var keys []uint64
	var last string
	sc := bufio.NewScanner(f)
	for sc.Scan() && len(seen) < *n {
		line := sc.Text()
		if !utf8.ValidString(line) {
			continue
		}
		e := fold(line)
		if utf8.RuneCountInString(e) < minEntryLen || seen[e] {
			continue
		}
		seen[e] = true
		last = e
		if k := fingerprint(e); !fps[k] { // two entries may share a fingerprint: store it once
			fps[k] = true
			keys = append(keys, k)
		}
	}
	if err := sc.Err(); err != nil {
		log.Fatal(err)
	}
	slices.Sort(keys)
	buf := []byte("UMMBPL1\n")
	buf = binary.LittleEndian.AppendUint32(buf, bucketBits)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(keys)))
	i := 0
	for b := 0; b <= 1<<bucketBits; b++ {
		for i < len(keys) && int(keys[i]>>24) < b {
			i++
		}
		buf = binary.LittleEndian.AppendUint32(buf, uint32(i))
	}
	for _, k := range keys {
		buf = append(buf, byte(k>>16), byte(k>>8), byte(k))
	}
	if err := os.WriteFile(*out, buf, 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d entries (%d fingerprints), last %q, %d bytes\n", len(seen), len(keys), last, len(buf))
}
