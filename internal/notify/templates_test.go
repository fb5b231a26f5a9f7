package notify

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/i18n"
)

// vars are values for every variable of every type.
var testVars = map[string]string{
	"tenant": "Acme", "address": "ada@example.com", "link": "https://id.acme.example/t/acme/verify?token=tok&x=1",
	"code": "493817", "sign_in_link": "https://id.acme.example/t/acme/login", "reset_link": "https://id.acme.example/t/acme/login/reset",
	"inviter": "Grace", "device": "Chrome on Linux", "ip": "203.0.113.7", "not_me_link": "https://id.acme.example/t/acme/account/not-me?token=tok", "left": "7",
}

func TestRenderEveryTypeInEveryLanguage(t *testing.T) {
	t.Parallel()
	r := NewRenderer("")
	for _, typ := range Types() {
		for _, lang := range i18n.Languages {
			t.Run(typ+" in "+lang, func(t *testing.T) {
				t.Parallel()
				e, err := r.Render(Message{Type: typ, Lang: lang, To: "ada@example.com", Vars: testVars})
				if err != nil {
					t.Fatal(err)
				}
				if !i18n.Builtin.Has(lang, "email."+typ+".subject") || !i18n.Builtin.Has(lang, "email."+typ+".body") {
					t.Errorf("%s has no texts of its own for %s", lang, typ)
				}
				if e.To != "ada@example.com" || !strings.Contains(e.Subject+e.Text, "Acme") {
					t.Errorf("Render = %+v, want the tenant named", e)
				}
				if strings.Contains(e.Subject+e.Text+e.HTML, "%") {
					t.Errorf("a verb is left: %+v", e)
				}
				for _, v := range typeVars[typ] {
					if !strings.Contains(e.Text, testVars[v]) {
						t.Errorf("the text lacks %s %q:\n%s", v, testVars[v], e.Text)
					}
				}
				if slices.Contains(typeVars[typ], "link") {
					if want := `<a href="https://id.acme.example/t/acme/verify?token=tok&amp;x=1">`; !strings.Contains(e.HTML, want) {
						t.Errorf("the HTML lacks the link %s:\n%s", want, e.HTML)
					}
				}
				if slices.Contains(typeVars[typ], "code") && !strings.Contains(e.HTML, ">493817<") {
					t.Errorf("the HTML does not show the code on its own:\n%s", e.HTML)
				}
				if !strings.Contains(e.HTML, `<html lang="`+lang+`">`) {
					t.Errorf("the HTML is not marked %s", lang)
				}
			})
		}
	}
}

func TestRenderLinksEachLinkOnce(t *testing.T) {
	t.Parallel()
	e, err := NewRenderer("").Render(Message{Type: TypeAlreadyRegistered, Lang: "en", To: "ada@example.com", Vars: testVars})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{testVars["sign_in_link"], testVars["reset_link"]} {
		if n := strings.Count(e.HTML, `<a href="`+l+`">`+l+`</a>`); n != 1 {
			t.Errorf("%s is linked %d times in:\n%s", l, n, e.HTML)
		}
	}
}

func TestRenderEscapesHTML(t *testing.T) {
	t.Parallel()
	v := map[string]string{"tenant": `<script>alert(1)</script>`, "address": "ada@example.com"}
	e, err := NewRenderer("").Render(Message{Type: TypePasswordChanged, Lang: "en", To: "ada@example.com", Vars: v})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(e.HTML, "<script>") || !strings.Contains(e.HTML, "&lt;script&gt;") {
		t.Errorf("the tenant's name reached the HTML unescaped:\n%s", e.HTML)
	}
}

func TestRenderFallsBackToEnglish(t *testing.T) {
	t.Parallel()
	r := NewRenderer("")
	m := Message{Type: TypeVerifyEmail, To: "ada@example.com", Vars: testVars}
	en, _ := r.Render(m)
	m.Lang = "de"
	de, _ := r.Render(m)
	m.Lang = "xx"
	xx, _ := r.Render(m)
	m.Lang = "../../etc"
	bad, _ := r.Render(m)
	if en.Subject == de.Subject || xx.Subject != en.Subject || bad.Subject != en.Subject {
		t.Errorf("German %q, English %q, unknown %q, malformed %q", de.Subject, en.Subject, xx.Subject, bad.Subject)
	}
}

func TestRenderOverrides(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("acme/email/verify_email.de.html", `<p>Acme DE {{.Vars.code}}</p>`)
	write("email/verify_email.de.html", `<p>all DE {{.Vars.code}}</p>`)
	write("email/verify_email.de.txt", `all DE text {{.Vars.code}} {{.Vars.tenant}}`)
	write("globex/email/verify_email.en.html", `{{.Broken`)
	r := NewRenderer(dir)
	tests := []struct {
		name, tenant, lang, wantHTML, wantText string
	}{
		{"the tenant's own file comes first", "acme", "de", "<p>Acme DE 493817</p>", "all DE text 493817 Acme"},
		{"another tenant gets the directory's file", "initech", "de", "<p>all DE 493817</p>", "all DE text 493817 Acme"},
		{"a language without a file gets the built-in", "acme", "fr", "veuillez confirmer", "veuillez confirmer"},
		{"a tenant id cannot leave the directory", "../email", "de", "<p>all DE 493817</p>", "all DE text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := r.Render(Message{Type: TypeVerifyEmail, Lang: tt.lang, TenantID: tt.tenant, To: "ada@example.com", Vars: testVars})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(e.HTML, tt.wantHTML) || !strings.Contains(e.Text, tt.wantText) {
				t.Errorf("HTML %q, text %q; want %q and %q", e.HTML, e.Text, tt.wantHTML, tt.wantText)
			}
		})
	}
	t.Run("a broken override is an error to repair, not a permanent one", func(t *testing.T) {
		t.Parallel()
		_, err := r.Render(Message{Type: TypeVerifyEmail, Lang: "en", TenantID: "globex", To: "ada@example.com", Vars: testVars})
		if err == nil || errors.Is(err, ErrPermanent) {
			t.Errorf("Render: %v", err)
		}
	})
}

func TestRenderRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, typ string
		vars      map[string]string
	}{
		{"an unknown type", "no_such_type", testVars},
		{"a missing variable", TypeVerifyEmail, map[string]string{"tenant": "Acme", "link": "https://x"}},
		{"no variables", TypeAccountAttack, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := NewRenderer("").Render(Message{Type: tt.typ, Lang: "en", To: "a@example.com", Vars: tt.vars}); !errors.Is(err, ErrPermanent) {
				t.Errorf("Render: %v, want ErrPermanent", err)
			}
		})
	}
}

func TestRenderAppliesTheTenantsBrandAndTexts(t *testing.T) {
	t.Parallel()
	r := NewRenderer("")
	brand := Brand{Name: "ACME Account", LogoURL: "https://cdn.acme.example/logo.png", Color: "#0b6e4f", SupportEmail: "help@acme.example"}
	texts := i18n.Overrides{"de": {"email.password_changed.subject": "ACME: neues Passwort für %[1]s"}}
	e, err := r.Render(Message{Type: TypePasswordChanged, Lang: "de", To: "ada@example.com", Vars: testVars, Brand: brand, Texts: texts})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"the subject is the tenant's own text", e.Subject == "ACME: neues Passwort für Acme"},
		{"the HTML shows the logo", strings.Contains(e.HTML, `<img src="https://cdn.acme.example/logo.png" alt="ACME Account"`)},
		{"the HTML names the brand", strings.Contains(e.HTML, ">ACME Account</p>")},
		{"the HTML carries the primary colour", strings.Contains(e.HTML, "#0b6e4f")},
		{"the HTML says where to ask, in German", strings.Contains(e.HTML, "Fragen? Schreiben Sie an help@acme.example.")},
		{"the text says where to ask", strings.Contains(e.Text, "Fragen? Schreiben Sie an help@acme.example.")},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s:\nsubject %q\ntext %s\nhtml %s", c.name, e.Subject, e.Text, e.HTML)
		}
	}

	// What a brand may not smuggle in: a colour that is not #rrggbb, a logo that is not https.
	bad := Brand{Color: "red;background:url(https://evil.example)", LogoURL: "http://cdn.acme.example/logo.png"}
	e, err = r.Render(Message{Type: TypePasswordChanged, Lang: "en", To: "ada@example.com", Vars: testVars, Brand: bad})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(e.HTML, "evil.example") || strings.Contains(e.HTML, "<img") || !strings.Contains(e.HTML, defaultColor) {
		t.Errorf("an unusable brand is not dropped:\n%s", e.HTML)
	}
	if strings.Contains(e.Text, "--") {
		t.Errorf("a support line without a support address:\n%s", e.Text)
	}
}
