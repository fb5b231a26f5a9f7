package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium; .ci/run installs it when it is missing.
const chromiumPath = "/usr/bin/chromium"

// Selectors of the hosted pages that the browser tests rely on.
const (
	selUsername = `input[autocomplete^=username]` // "username webauthn" where passkeys are offered
	selPassword = `input[autocomplete=current-password]`
	selSubmit   = `button[type=submit]`
	selAllow    = `button[name=decision][value=allow]`
	selDeny     = `button[name=decision][value=deny]`
	selLogout   = `button[value=logout]`
)

// browser is one headless Chromium process with a fresh profile.
type browser struct {
	ctx context.Context // the first tab: it owns the process
}

// newBrowser starts Chromium for the test. Without /usr/bin/chromium the test is skipped, except in CI,
// where it fails: the browser tests must run there.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if inCI() {
			t.Fatalf("%s is missing: in CI the browser tests must run (.ci/run installs chromium)", chromiumPath)
		}
		t.Skipf("%s is not installed: skipping the browser tests", chromiumPath)
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	var done atomic.Bool // chromedp may log after the test ended; t.Logf would panic then
	logf := func(format string, args ...any) {
		if !done.Load() {
			t.Logf("chromedp: "+format, args...)
		}
	}
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithErrorf(logf))
	t.Cleanup(func() {
		done.Store(true)
		bcancel()
		acancel()
	})
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(bctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start chromium: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("chromium did not start within 60s")
	}
	return &browser{ctx: bctx}
}

// tab is a tab in its own browser context: its own cookies, like a separate person or device.
type tab struct {
	ctx context.Context
}

// newUser opens a tab in a fresh browser context, closed when the test ends.
func (b *browser) newUser(t *testing.T) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("open a tab: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("chromium did not open a tab within 30s")
	}
	return &tab{ctx: ctx}
}

// do runs steps with a bound, failing the test with what the page shows.
func (p *tab) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v\npage: %s", what, err, p.where())
	}
}

// navigate loads u and waits for the page that the redirects end at.
func (p *tab) navigate(t *testing.T, u string) {
	t.Helper()
	p.do(t, "navigate to "+u, chromedp.Navigate(u))
}

// has reports whether an element matching the CSS selector is on the page now.
func (p *tab) has(sel string) bool {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	q, _ := json.Marshal(sel)
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.readyState !== "loading" && document.querySelector(%s) !== null`, q)))
	return err == nil && ok
}

// waitFor waits until one of the selectors is on the page and returns it.
func (p *tab) waitFor(t *testing.T, timeout time.Duration, sels ...string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, s := range sels {
			if p.has(s) {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("none of %q appeared within %s\npage: %s", sels, timeout, p.where())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// click clicks the first element matching sel.
func (p *tab) click(t *testing.T, sel string) {
	t.Helper()
	p.do(t, "click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// signIn fills the sign-in form that is (or is about to be) on the page and submits it. It handles a
// single form and an identifier-first form (email, then password).
func (p *tab) signIn(t *testing.T, email, password string) {
	t.Helper()
	p.waitFor(t, 15*time.Second, selUsername)
	p.do(t, "type the email", chromedp.Clear(chromedp.CSS(selUsername)), chromedp.SendKeys(chromedp.CSS(selUsername), email))
	if !p.has(selPassword) {
		p.click(t, selSubmit)
		p.waitFor(t, 15*time.Second, selPassword)
	}
	p.do(t, "type the password and submit",
		chromedp.SendKeys(chromedp.CSS(selPassword), password),
		chromedp.Click(chromedp.CSS(selSubmit)))
}

// markDocument marks the current document, so that waitNewDocument can tell when the browser has
// loaded another one (a form post may answer at the same URL).
func (p *tab) markDocument(t *testing.T) {
	t.Helper()
	p.do(t, "mark the document", chromedp.Evaluate[chromedp.Void](`window.__e2eMark = true`))
}

// waitNewDocument waits until the marked document has been replaced and the new one has loaded.
func (p *tab) waitNewDocument(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__e2eMark !== true && document.readyState === "complete"`))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the browser did not load a new page within 15s\npage: %s", p.where())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// where describes the page for failure messages: URL and visible text.
func (p *tab) where() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.location.href + "\n" + (document.body ? document.body.innerText : "")`))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return snippet(text)
}

// waitRP waits for the RP to receive path with state, failing with the browser's page when it does not.
func (p *tab) waitRP(t *testing.T, r *rp, path, state string) url.Values {
	t.Helper()
	v, err := r.waitErr(path, state, 20*time.Second)
	if err != nil {
		t.Fatalf("%v\nbrowser page: %s", err, p.where())
	}
	// Let the browser finish loading the RP's page, so that the next navigation does not abort this one.
	p.waitFor(t, 10*time.Second, "#rp-done")
	return v
}
