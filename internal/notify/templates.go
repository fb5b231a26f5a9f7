package notify

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"

	"github.com/umm-project/umm/internal/i18n"
)

// The types of email UMM sends. The texts of each are two catalogue messages, email.<type>.subject and
// email.<type>.body (internal/i18n/messages/email.<lang>.json), whose verbs take the type's variables
// (Vars) in the order listed here.
const (
	// TypeAccountAttack tells an account's owner that an attack episode started on it. Vars: tenant, address.
	TypeAccountAttack = "account_attack"
	// TypeVerifyEmail asks to confirm an address. Vars: tenant, link, code.
	TypeVerifyEmail = "verify_email"
	// TypeAlreadyRegistered answers a registration with an address that has an account. Vars: tenant,
	// address, sign_in_link, reset_link.
	TypeAlreadyRegistered = "already_registered"
	// TypePasswordReset carries a password reset. Vars: tenant, link, code.
	TypePasswordReset = "password_reset"
	// TypePasswordChanged tells that the account's password changed. Vars: tenant, address.
	TypePasswordChanged = "password_changed"
	// TypeEmailChangeVerify asks to confirm a new address. Vars: tenant, link, code, address (the new one).
	TypeEmailChangeVerify = "email_change_verify"
	// TypeEmailChangeNotice tells the old address that the account's address is changing. Vars: tenant,
	// address (the new one).
	TypeEmailChangeNotice = "email_change_notice"
	// TypeInvitation invites someone to a tenant. Vars: tenant, inviter, link.
	TypeInvitation = "invitation"
	// TypeSignInCode carries a one-time sign-in code (a second factor). Vars: tenant, code.
	TypeSignInCode = "sign_in_code"
	// TypeSignInLink carries a passwordless sign-in: a link and the same sign-in's code. Vars: tenant, link,
	// code.
	TypeSignInLink = "sign_in_link"
	// TypeNewSignIn tells of a sign-in from a new device, with a link that ends every session and starts
	// recovery. Vars: tenant, address, device, ip, not_me_link.
	TypeNewSignIn = "new_sign_in"
	// TypeRecoveryCodeUsed tells that one of the account's recovery codes was used to sign in. Vars:
	// tenant, address, left (how many codes remain).
	TypeRecoveryCodeUsed = "recovery_code_used"
)

// typeVars are the variables of each type, in the order of its texts' verbs.
var typeVars = map[string][]string{
	TypeAccountAttack:     {"tenant", "address"},
	TypeVerifyEmail:       {"tenant", "link", "code"},
	TypeAlreadyRegistered: {"tenant", "address", "sign_in_link", "reset_link"},
	TypePasswordReset:     {"tenant", "link", "code"},
	TypePasswordChanged:   {"tenant", "address"},
	TypeEmailChangeVerify: {"tenant", "link", "code", "address"},
	TypeEmailChangeNotice: {"tenant", "address"},
	TypeInvitation:        {"tenant", "inviter", "link"},
	TypeSignInCode:        {"tenant", "code"},
	TypeSignInLink:        {"tenant", "link", "code"},
	TypeNewSignIn:         {"tenant", "address", "device", "ip", "not_me_link"},
	TypeRecoveryCodeUsed:  {"tenant", "address", "left"},
}

// Types are the email types, for tests and documentation.
func Types() []string {
	out := make([]string, 0, len(typeVars))
	for t := range typeVars {
		out = append(out, t)
	}
	return out
}

// Message is an email before rendering: its type, language and variables.
type Message struct {
	Type     string
	Lang     string // empty or unknown: English
	To       string
	From     string            // the tenant's sender; empty: email.from
	TenantID string            // whose template overrides apply
	Vars     map[string]string // the type's variables, each required
	Brand    Brand             // the tenant's branding; zero: UMM's plain look
	Texts    i18n.Overrides    // the tenant's own texts (language, key, text); nil: the catalogue's
}

// Brand is how a tenant's email looks: its display name, logo, primary colour (#rrggbb, checked for
// contrast against white when configured) and the address people may write to for help.
type Brand struct {
	Name         string `json:"name,omitempty"`
	LogoURL      string `json:"logo_url,omitempty"`
	Color        string `json:"color,omitempty"`
	SupportEmail string `json:"support_email,omitempty"`
}

var colorPattern = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

//go:embed templates
var builtin embed.FS

// Renderer turns a Message into an Email: the subject from the catalogue, the text part through
// text/template and the HTML part through html/template. The templates are the built-in ones unless the
// operator's directory (templates.dir) has an override, looked up per part in this order:
//
//	<dir>/<tenant>/email/<type>.<lang>.txt|html
//	<dir>/email/<type>.<lang>.txt|html
//	built-in email/<type>.txt|html, then email/default.txt|html
//
// Overrides are read at each rendering, so a changed file applies to the next email.
type Renderer struct {
	dir string
}

// NewRenderer returns a Renderer with overrides from dir (empty: built-in templates only).
func NewRenderer(dir string) *Renderer { return &Renderer{dir: dir} }

// TemplateData is what a template sees.
type TemplateData struct {
	Type, Lang, Subject string
	// Text is the catalogue's body, its variables filled in.
	Text string
	// Paragraphs is Text split at blank lines; in HTML each is escaped, with its links made clickable.
	Paragraphs []htmltemplate.HTML
	// Vars are the message's variables by name (.Vars.link, .Vars.code, ...).
	Vars map[string]string
	// Brand is the tenant's branding; Color is always a usable #rrggbb (UMM's own when the tenant has
	// none), LogoURL only an https URL. Support is the translated "Questions? Write to ..." line, or "".
	Brand   Brand
	Support string
}

// Language returns the shipped language of a BCP 47 tag ("de-AT" -> "de"), or "" when UMM does not ship
// it: the language of an email to a person whose profile names a locale.
func Language(tag string) string { return i18n.Match(tag) }

// defaultColor is the colour of links in UMM's own look (the pages' primary colour).
const defaultColor = "#1f4fd1"

var langPattern = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)

// Render renders m. An unknown type or a missing variable is ErrPermanent: the message as queued can
// never be sent. A broken override is an ordinary error: the operator can repair the file while the
// message waits.
func (r *Renderer) Render(m Message) (Email, error) {
	vars, ok := typeVars[m.Type]
	if !ok {
		return Email{}, fmt.Errorf("email type %q: unknown: %w", m.Type, ErrPermanent)
	}
	lang := m.Lang
	if !langPattern.MatchString(lang) {
		lang = i18n.Default
	}
	args := make([]any, len(vars))
	for i, v := range vars {
		s, ok := m.Vars[v]
		if !ok {
			return Email{}, fmt.Errorf("email type %q: variable %s missing: %w", m.Type, v, ErrPermanent)
		}
		args[i] = s
	}
	key := "email." + m.Type
	texts := i18n.Builtin.In(lang, m.Texts)
	d := TemplateData{Type: m.Type, Lang: lang, Vars: m.Vars, Brand: m.Brand,
		Subject: texts.Text(key+".subject", args...), Text: texts.Text(key+".body", args...)}
	if !colorPattern.MatchString(d.Brand.Color) {
		d.Brand.Color = defaultColor
	}
	if !strings.HasPrefix(d.Brand.LogoURL, "https://") {
		d.Brand.LogoURL = ""
	}
	if d.Brand.SupportEmail != "" {
		d.Support = texts.Text("email.support", d.Brand.SupportEmail)
	}
	// fmt marks a missing or extra argument with %!; a message with such a hole is not sent.
	if strings.Contains(d.Subject+d.Text, "%!") || !i18n.Builtin.Has(i18n.Default, key+".body") {
		return Email{}, fmt.Errorf("email type %q: the texts do not fit its variables: %w", m.Type, ErrPermanent)
	}
	for p := range strings.SplitSeq(strings.TrimSpace(d.Text), "\n\n") {
		d.Paragraphs = append(d.Paragraphs, linkify(p, m.Vars))
	}
	text, err := r.execute(m.TenantID, m.Type, lang, "txt", d)
	if err != nil {
		return Email{}, err
	}
	html, err := r.execute(m.TenantID, m.Type, lang, "html", d)
	if err != nil {
		return Email{}, err
	}
	return Email{To: m.To, From: m.From, Subject: d.Subject, Text: text, HTML: html}, nil
}

// execute finds the template of one part (ext txt or html) and runs it on d.
func (r *Renderer) execute(tenantID, typ, lang, ext string, d TemplateData) (string, error) {
	src, name, err := r.lookup(tenantID, typ, lang, ext)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if ext == "html" {
		t, err := htmltemplate.New(name).Option("missingkey=zero").Parse(src)
		if err != nil {
			return "", fmt.Errorf("email template %s: %w", name, err)
		}
		err = t.Execute(&b, d)
	} else {
		t, err := texttemplate.New(name).Option("missingkey=zero").Parse(src)
		if err != nil {
			return "", fmt.Errorf("email template %s: %w", name, err)
		}
		err = t.Execute(&b, d)
	}
	if err != nil {
		return "", fmt.Errorf("email template %s: %w", name, err)
	}
	return b.String(), nil
}

// lookup returns the source of the first template found for the part, and a name for errors.
func (r *Renderer) lookup(tenantID, typ, lang, ext string) (src, name string, err error) {
	file := typ + "." + lang + "." + ext
	if r.dir != "" {
		var paths []string
		// Tenant ids are checked at creation (letters, digits, '-', '_'): never a path of their own.
		if tenantID != "" && !strings.ContainsAny(tenantID, `/\.`) {
			paths = append(paths, filepath.Join(r.dir, tenantID, "email", file))
		}
		paths = append(paths, filepath.Join(r.dir, "email", file))
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err == nil {
				return string(b), p, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return "", "", fmt.Errorf("email template: %w", err)
			}
		}
	}
	for _, p := range []string{"templates/email/" + typ + "." + ext, "templates/email/default." + ext} {
		b, err := builtin.ReadFile(p)
		if err == nil {
			return string(b), p, nil
		}
	}
	return "", "", fmt.Errorf("email template for %s.%s: none built in", typ, ext)
}

// linkify escapes paragraph p for HTML and turns each link variable's value in it into a link. Longer
// links go first, through placeholders, so that a link that begins another is not linked inside it.
func linkify(p string, vars map[string]string) htmltemplate.HTML {
	var links []string
	for name, v := range vars {
		if strings.HasSuffix(name, "link") && (strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "http://")) {
			links = append(links, v)
		}
	}
	slices.SortFunc(links, func(a, b string) int { return len(b) - len(a) })
	for i, l := range links {
		p = strings.ReplaceAll(p, l, "\x00"+strconv.Itoa(i)+"\x00")
	}
	out := htmltemplate.HTMLEscapeString(p)
	for i, l := range links {
		e := htmltemplate.HTMLEscapeString(l)
		out = strings.ReplaceAll(out, htmltemplate.HTMLEscapeString("\x00"+strconv.Itoa(i)+"\x00"), `<a href="`+e+`">`+e+`</a>`)
	}
	return htmltemplate.HTML(out)
}
