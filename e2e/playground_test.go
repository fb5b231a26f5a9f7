package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestFirstHourInChromium follows a newcomer: a server with no tenants configured, one user created with
// the CLI, and then only clicks in a real browser: the root page, its playground link, the playground's
// sign-in button, the sign-in form, and the result with the ID token's claims, the access token and the
// UserInfo answer.
func TestFirstHourInChromium(t *testing.T) {
	b := newBrowser(t)
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	dir := t.TempDir()
	s := &server{t: t, Backend: "sqlite", logs: &logBuffer{}}
	port := freePort(t)
	s.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
	s.cfgPath = filepath.Join(dir, "umm.yaml")
	// Only what a test needs to run beside others: its own port and files, and cheap password hashes.
	cfg := fmt.Sprintf("server:\n  addr: 127.0.0.1:%d\n  public_url: %s\ndatabase:\n  url: sqlite:%s\nsecrets:\n  master_key_file: %s\n"+
		"security:\n  argon2_memory_kib: 8192\n  argon2_iterations: 1\n",
		port, s.URL, filepath.Join(dir, "data", "umm.db"), filepath.Join(dir, "data", "master.key"))
	if err := os.WriteFile(s.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("server log (tail):\n%s", tail(s.logs.String(), 8<<10))
		}
	})
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	const email, password = "newcomer@example.com", "my-first-password-1"
	s.cli(t, password+"\n", "users", "create", "--tenant", "default", "--email", email)

	p := b.newUser(t)
	p.navigate(t, s.URL+"/")
	p.click(t, `a[href$="/t/default/playground"]`)
	p.waitFor(t, 15*time.Second, "#start")
	p.click(t, "#start")
	p.signIn(t, email, password)
	p.waitFor(t, 20*time.Second, "#id-token", "#error")

	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Signed in", `"email": "` + email + `"`, `"client_id": "playground"`, "✓ passed"} {
		if !strings.Contains(text, want) {
			t.Errorf("the result page does not show %q:\n%s", want, snippet(text))
		}
	}
	if strings.Contains(text, "✗ failed") {
		t.Errorf("a check failed:\n%s", snippet(text))
	}
	for _, sel := range []string{"#id-token", "#access-token", "#userinfo"} {
		if !p.has(sel) {
			t.Errorf("the result page has no %s", sel)
		}
	}
}
