package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/i18n"
)

//go:embed templates/*.html
var templateFS embed.FS

// PageData is what every page template receives.
type PageData struct {
	TenantName  string            // shown in the header; "" shows the product name
	Title       string            // the page's title, when the page's "title" block uses it
	CSRFToken   string            // from (*CSRF).Token; {{template "csrf" .}} writes the hidden field
	Error       string            // form-level error, shown with role=alert by {{template "form-error" .}}
	FieldErrors map[string]string // per-field errors by input name, read with fieldError
	Lang        string            // the html lang attribute and the language of Texts; "" means "en"
	Data        any               // the page's own data

	// Texts are the page's messages (read with {{.T "key"}}); TenantPage fills them with the tenant's
	// overrides. When unset, the layout uses the catalogue in Lang.
	Texts    i18n.Texts
	TenantID string          // the tenant whose branding stylesheet and language switcher the page links
	Branding config.Branding // the tenant's logo, colour and stylesheet (branding.go)
	// Organization is the organization whose branding the page wears over its tenant's ("" for none): its
	// stylesheet is the tenant's stylesheet for that organization.
	Organization string
	Here         string // where the language switcher returns to; "" hides the switcher
}

// Renderer renders a surface's pages inside web's layout.
type Renderer struct {
	pages map[string]*template.Template
	// Log receives template execution errors; nil uses slog.Default().
	Log *slog.Logger
}

// NewRenderer parses web's layout with every page file of pages matching patterns (fs.Glob patterns such
// as "templates/*.html"). Each page is parsed on its own (so pages can all define "title" and "content")
// and is named by its file name, with or without ".html" ("login.html" or "login").
func NewRenderer(pages fs.FS, patterns ...string) (*Renderer, error) {
	base, err := baseTemplate()
	if err != nil {
		return nil, err
	}
	return newRenderer(base, pages, patterns)
}

// NewRendererWithPartials is NewRenderer for pages that share markup: every file of pages matching
// partials (an fs.Glob pattern such as "templates/partials/*.html") defines named templates that each
// page can use with {{template "name" .}}. A partial is not a page, and it may not define a page's
// blocks ("title", "content", "scripts").
func NewRendererWithPartials(pages fs.FS, partials string, patterns ...string) (*Renderer, error) {
	base, err := baseTemplate()
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(pages, partials)
	if err != nil {
		return nil, fmt.Errorf("glob %q: %w", partials, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("glob %q: no partial matches", partials)
	}
	for _, f := range files {
		if err := parsePartial(base, pages, f); err != nil {
			return nil, err
		}
	}
	return newRenderer(base, pages, patterns)
}

func newRenderer(base *template.Template, pages fs.FS, patterns []string) (*Renderer, error) {
	rd := &Renderer{pages: map[string]*template.Template{}}
	for _, pat := range patterns {
		files, err := fs.Glob(pages, pat)
		if err != nil {
			return nil, fmt.Errorf("glob %q: %w", pat, err)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("glob %q: no page matches", pat)
		}
		for _, f := range files {
			t, err := parsePage(base, pages, f)
			if err != nil {
				return nil, err
			}
			name := path.Base(f)
			if _, dup := rd.pages[name]; dup {
				return nil, fmt.Errorf("page %q: defined twice", name)
			}
			rd.pages[name] = t
			rd.pages[strings.TrimSuffix(name, ".html")] = t
		}
	}
	return rd, nil
}

func baseTemplate() (*template.Template, error) {
	t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	return t, nil
}

// parsePartial adds the templates file defines to base, after checking it defines no page block.
func parsePartial(base *template.Template, fsys fs.FS, file string) error {
	src, err := fs.ReadFile(fsys, file)
	if err != nil {
		return fmt.Errorf("read partial %s: %w", file, err)
	}
	own, err := template.New(path.Base(file)).Funcs(funcs).Parse(string(src))
	if err != nil {
		return fmt.Errorf("parse partial %s: %w", file, err)
	}
	for _, block := range []string{"title", "content", "scripts"} {
		if own.Lookup(block) != nil {
			return fmt.Errorf("partial %s: defines the page block %q", file, block)
		}
	}
	if _, err := base.New(path.Base(file)).Parse(string(src)); err != nil {
		return fmt.Errorf("parse partial %s: %w", file, err)
	}
	return nil
}

func parsePage(base *template.Template, fsys fs.FS, file string) (*template.Template, error) {
	src, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, fmt.Errorf("read page %s: %w", file, err)
	}
	// Parsed alone first to check the page itself defines its blocks (the layout has empty defaults).
	own, err := template.New(path.Base(file)).Funcs(funcs).Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("parse page %s: %w", file, err)
	}
	for _, need := range []string{"title", "content"} {
		if own.Lookup(need) == nil {
			return nil, fmt.Errorf("page %s: defines no %q template", file, need)
		}
	}
	t, err := base.Clone()
	if err != nil {
		return nil, fmt.Errorf("clone layout for %s: %w", file, err)
	}
	if _, err := t.New(path.Base(file)).Parse(string(src)); err != nil {
		return nil, fmt.Errorf("parse page %s: %w", file, err)
	}
	return t, nil
}

// Render writes page inside the layout with status, as text/html with Cache-Control: no-store. The page
// is rendered to a buffer first: a template error answers a plain 500 page (and is logged) instead of
// half a page.
func (rd *Renderer) Render(w http.ResponseWriter, r *http.Request, status int, page string, data PageData) {
	t, ok := rd.pages[page]
	if !ok {
		rd.fail(w, r, fmt.Errorf("render: no page %q", page))
		return
	}
	if err := execute(w, t, status, data); err != nil {
		rd.fail(w, r, fmt.Errorf("render %s: %w", page, err))
	}
}

func (rd *Renderer) fail(w http.ResponseWriter, r *http.Request, err error) {
	log := rd.Log
	if log == nil {
		log = slog.Default()
	}
	log.ErrorContext(r.Context(), "render page", "request_id", RequestIDFrom(r.Context()), "err", err)
	ErrorPage(w, r, http.StatusInternalServerError, "error.server.title", "error.server.text")
}

func execute(w http.ResponseWriter, t *template.Template, status int, data PageData) error {
	if data.Texts.Lang == "" {
		data.Texts = i18n.Builtin.In(data.Lang, nil)
	}
	data.Lang = data.Texts.Lang
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	allowBranding(w, data.Branding)
	NoStore(w)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// errorPage is web's own page for ErrorPage, parsed once from the embedded templates.
var errorPage = func() *template.Template {
	base, err := baseTemplate()
	if err != nil {
		panic(err)
	}
	t, err := parsePage(base, templateFS, "templates/error.html")
	if err != nil {
		panic(err)
	}
	return t
}()

// errorData is the Data of web's error page.
type errorData struct {
	Message   string
	RequestID string
}

// ErrorPage renders a plain, accessible error page (for example "bad client or redirect URI") with
// status, a title (the page's h1) and a message, given as message keys, in the language the request
// asks for (Lang). It shows the request ID as a reference for support.
func ErrorPage(w http.ResponseWriter, r *http.Request, status int, titleKey, messageKey string, args ...any) {
	lang := Lang(r, "", "")
	TenantErrorPage(w, r, PageData{Lang: lang, Texts: i18n.Builtin.In(lang, nil)}, status, titleKey, messageKey, args...)
}

// TenantErrorPage is ErrorPage for a page of a known tenant: pd (from TenantPage) names the tenant and
// brings its language, branding and overrides. The message is formatted with args.
func TenantErrorPage(w http.ResponseWriter, r *http.Request, pd PageData, status int, titleKey, messageKey string, args ...any) {
	data := pd
	if data.Texts.Lang == "" {
		data.Texts = i18n.Builtin.In(data.Lang, nil)
	}
	data.Title = data.T(titleKey)
	data.Data = errorData{Message: data.T(messageKey, args...), RequestID: RequestIDFrom(r.Context())}
	if err := execute(w, errorPage, status, data); err != nil {
		// Only a broken embedded template gets here; answer in plain text.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		NoStore(w)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(http.StatusText(status) + "\n"))
	}
}

// funcs are the template functions available to every page.
var funcs = template.FuncMap{
	// fieldError returns the error of one input ("" when none): {{with fieldError $ "email"}}...{{end}}.
	"fieldError": func(d PageData, name string) string { return d.FieldErrors[name] },
	// errorID is the id of an input's error text, for aria-describedby: {{errorID "email"}} = "email-error".
	"errorID": func(name string) string { return name + "-error" },
	// asset is the versioned URL of an embedded static file: {{asset "umm.css"}}.
	"asset": assetURL,
	// brandingCSS is the URL of the page's tenant stylesheet: {{brandingCSS .}}.
	"brandingCSS": func(d PageData) string {
		if d.Organization != "" {
			return BrandingPath(d.TenantID, d.Branding) + "&org=" + url.QueryEscape(d.Organization)
		}
		return BrandingPath(d.TenantID, d.Branding)
	},
}
