// Package umm is the module root of UMM, an open-source customer identity and access management server
// (an OpenID Connect provider). The binary is cmd/umm; everything the server is lives under internal/.
// This package holds no code, only tests of the whole module: layout_test.go enforces the import direction
// described in docs/DESIGN.md, readme_test.go checks that README.md documents every configuration key, and
// docs_test.go that every document the repository cites is in it.
package umm
