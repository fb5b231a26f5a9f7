// Package e2e holds UMM's end-to-end tests. They build the real umm binary once per test run, start it as
// a subprocess on loopback with a seeded configuration (SQLite and PostgreSQL), and drive it with clients
// we did not write: golang.org/x/oauth2 and github.com/coreos/go-oidc/v3 as the relying party, and headless
// Chromium (through chromedp) as the user's browser. Nothing here imports the server's packages except
// config (for seed types) and store/storetest (for test databases).
package e2e
