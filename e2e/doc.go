// Package e2e holds UMM's end-to-end tests. They build the real umm binary once per test run, start it as
// a subprocess on loopback with a seeded configuration (SQLite and PostgreSQL), and drive it with clients
// we did not write: golang.org/x/oauth2 and github.com/coreos/go-oidc/v3 as the relying party, and headless
// Chromium (through chromedp) as the user's browser. Of the server's packages it imports only
// store/storetest, for test databases (and internal/server blank, as the test cache key: cachekey.go);
// everything else goes through HTTP and the umm command line.
package e2e
