// Package umm is the module root of UMM, an open-source customer identity and access management server
// (an OpenID Connect provider). The binary is cmd/umm; everything the server is lives under internal/.
// This package holds no code: only layout_test.go, which enforces the import direction described in
// ARCHITECTURE.md.
package umm
