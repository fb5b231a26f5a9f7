package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

var testPages = fstest.MapFS{
	"pages/login.html": {Data: []byte(`{{define "title"}}Sign in{{end}}
{{define "content"}}<h1>Sign in</h1>
<form method="post">{{template "csrf" .}}{{template "form-error" .}}
<label for="email">Email</label>
<input id="email" name="email" value="{{.Data}}"{{if fieldError $ "email"}} aria-invalid="true" aria-describedby="{{errorID "email"}}"{{end}}>
{{with fieldError $ "email"}}<span class="field-error" id="{{errorID "email"}}">{{.}}</span>{{end}}
<button>Continue</button></form>{{end}}`)},
	"pages/consent.html": {Data: []byte(`{{define "title"}}{{.Title}}{{end}}{{define "content"}}<h1>Allow?</h1>{{end}}
{{define "scripts"}}<script src="{{asset "form_post.js"}}"></script>{{end}}`)},
	"pages/broken.html": {Data: []byte(`{{define "title"}}x{{end}}{{define "content"}}{{.Data.Missing}}{{end}}`)},
}

func TestRenderer(t *testing.T) {
	rd, err := NewRenderer(testPages, "pages/*.html")
	if err != nil {
		t.Fatal(err)
	}
	render := func(status int, page string, data PageData) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		rd.Render(w, httptest.NewRequest("GET", "/", nil), status, page, data)
		return w
	}
	w := render(http.StatusUnprocessableEntity, "login", PageData{
		TenantName:  "Acme <Corp>",
		CSRFToken:   "tok-123",
		Error:       "Wrong <b>password</b>",
		FieldErrors: map[string]string{"email": "Enter an email"},
		Data:        `"><script>alert(1)</script>`,
	})
	body := w.Body.String()

	tests := []struct {
		name string
		ok   bool
	}{
		{"the status is the one asked", w.Code == http.StatusUnprocessableEntity},
		{"the content type is HTML in UTF-8", w.Header().Get("Content-Type") == "text/html; charset=utf-8"},
		{"the page is not cached", w.Header().Get("Cache-Control") == "no-store"},
		{"the tenant name is in the header, escaped", strings.Contains(body, `<p class="brand">Acme &lt;Corp&gt;</p>`)},
		{"the title has the page and tenant names", strings.Contains(body, "<title>Sign in · Acme &lt;Corp&gt;</title>")},
		{"the html element has the default language", strings.Contains(body, `<html lang="en">`)},
		{"the CSRF token is a hidden field", strings.Contains(body, `<input type="hidden" name="csrf_token" value="tok-123">`)},
		{"the form error is an escaped alert", strings.Contains(body, `role="alert" id="form-error">Wrong &lt;b&gt;password&lt;/b&gt;</div>`)},
		{"the field error is tied to its input", strings.Contains(body, `aria-describedby="email-error"`) && strings.Contains(body, `id="email-error">Enter an email</span>`)},
		{"data is escaped in attributes", !strings.Contains(body, "<script>alert(1)") && strings.Contains(body, "&#34;&gt;&lt;script&gt;")},
		{"the stylesheet is versioned", strings.Contains(body, `href="/static/umm.css?v=`+assets["umm.css"].version+`"`)},
		{"there is no inline script or style", !strings.Contains(body, "<script>") && !strings.Contains(body, "style=") && !strings.Contains(body, "<style")},
		{"there is exactly one h1", strings.Count(body, "<h1") == 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok {
				t.Errorf("not so; page:\n%s", body)
			}
		})
	}

	t.Run("a page can be named with its file name", func(t *testing.T) {
		if w := render(200, "login.html", PageData{}); w.Code != 200 || !strings.Contains(w.Body.String(), "<h1>Sign in</h1>") {
			t.Errorf("status %d", w.Code)
		}
	})
	t.Run("each page has its own blocks", func(t *testing.T) {
		w := render(200, "consent", PageData{Title: "Consent", Lang: "de"})
		b := w.Body.String()
		if !strings.Contains(b, "<h1>Allow?</h1>") || strings.Contains(b, "Sign in") || !strings.Contains(b, `<html lang="de">`) {
			t.Errorf("page:\n%s", b)
		}
		if !strings.Contains(b, `<script src="/static/form_post.js?v=`) {
			t.Errorf("scripts block missing:\n%s", b)
		}
		if strings.Contains(b, "UMM</p>") == false {
			t.Errorf("without a tenant the header shows the product name:\n%s", b)
		}
	})
	t.Run("without field errors no input is marked invalid", func(t *testing.T) {
		if b := render(200, "login", PageData{}).Body.String(); strings.Contains(b, "aria-invalid") || strings.Contains(b, "role=\"alert\"") {
			t.Errorf("page:\n%s", b)
		}
	})
	t.Run("an unknown page answers a 500 error page", func(t *testing.T) {
		w := render(200, "nope", PageData{})
		if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), "Something went wrong") {
			t.Errorf("status %d body %s", w.Code, w.Body)
		}
	})
	t.Run("a template error answers a 500 page, not half a page", func(t *testing.T) {
		w := render(200, "broken", PageData{Data: 42})
		if w.Code != http.StatusInternalServerError || strings.Count(w.Body.String(), "<html") != 1 {
			t.Errorf("status %d body %s", w.Code, w.Body)
		}
	})
}

func TestNewRendererRefuses(t *testing.T) {
	tests := []struct {
		name string
		fs   fstest.MapFS
		pat  string
	}{
		{"a pattern matching nothing", fstest.MapFS{"a.html": {Data: []byte(`{{define "title"}}{{end}}{{define "content"}}{{end}}`)}}, "*.tmpl"},
		{"a page without content", fstest.MapFS{"a.html": {Data: []byte(`{{define "title"}}A{{end}}`)}}, "*.html"},
		{"a page without title", fstest.MapFS{"a.html": {Data: []byte(`{{define "content"}}A{{end}}`)}}, "*.html"},
		{"a page that does not parse", fstest.MapFS{"a.html": {Data: []byte(`{{define "title"}}`)}}, "*.html"},
		{"a page using an unknown function", fstest.MapFS{"a.html": {Data: []byte(`{{define "title"}}{{nope}}{{end}}{{define "content"}}{{end}}`)}}, "*.html"},
		{"a bad pattern", fstest.MapFS{}, "["},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewRenderer(tt.fs, tt.pat); err == nil {
				t.Error("NewRenderer accepted it")
			}
		})
	}
}

func TestRendererWithPartials(t *testing.T) {
	pages := fstest.MapFS{
		"pages/partials/greeting.html": {Data: []byte(`{{define "greeting"}}<p>Hello, {{.Data}}.</p>{{end}}`)},
		"pages/a.html":                 {Data: []byte(`{{define "title"}}A{{end}}{{define "content"}}<h1>A</h1>{{template "greeting" .}}{{end}}`)},
		"pages/b.html":                 {Data: []byte(`{{define "title"}}B{{end}}{{define "content"}}<h1>B</h1>{{template "greeting" .}}{{end}}`)},
	}
	rd, err := NewRendererWithPartials(pages, "pages/partials/*.html", "pages/*.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"a", "b"} {
		t.Run("page "+page+" uses the partial with its own data, escaped", func(t *testing.T) {
			w := httptest.NewRecorder()
			rd.Render(w, httptest.NewRequest("GET", "/", nil), 200, page, PageData{Data: "<Ada>"})
			if b := w.Body.String(); w.Code != 200 || !strings.Contains(b, "<p>Hello, &lt;Ada&gt;.</p>") {
				t.Errorf("status %d page:\n%s", w.Code, b)
			}
		})
	}
	t.Run("a partial is not a page", func(t *testing.T) {
		w := httptest.NewRecorder()
		rd.Render(w, httptest.NewRequest("GET", "/", nil), 200, "greeting", PageData{})
		if w.Code != http.StatusInternalServerError {
			t.Errorf("status %d, want 500", w.Code)
		}
	})

	pageA := &fstest.MapFile{Data: []byte(`{{define "title"}}A{{end}}{{define "content"}}{{end}}`)}
	refused := []struct {
		name    string
		partial string
		pat     string
	}{
		{"a partial pattern matching nothing", "", "q/*.html"},
		{"a bad partial pattern", "", "["},
		{"a partial that does not parse", `{{define "x"}}`, "q/*.html"},
		{"a partial defining a page's content", `{{define "content"}}X{{end}}`, "q/*.html"},
		{"a partial defining a page's title", `{{define "title"}}X{{end}}`, "q/*.html"},
		{"a partial defining a page's scripts", `{{define "scripts"}}X{{end}}`, "q/*.html"},
	}
	for _, tt := range refused {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"p/a.html": pageA}
			if tt.partial != "" {
				fsys["q/x.html"] = &fstest.MapFile{Data: []byte(tt.partial)}
			}
			if _, err := NewRendererWithPartials(fsys, tt.pat, "p/*.html"); err == nil {
				t.Error("NewRendererWithPartials accepted it")
			}
		})
	}
}

func TestErrorPage(t *testing.T) {
	var w *httptest.ResponseRecorder
	RequestID(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w = httptest.NewRecorder()
		ErrorPage(w, r, http.StatusBadRequest, "Unknown application", `The redirect URI "<x>" is not registered.`)
	})).ServeHTTP(httptest.NewRecorder(), func() *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-Request-ID", "ref-42")
		return r
	}())
	b := w.Body.String()
	tests := []struct {
		name string
		ok   bool
	}{
		{"the status is the one asked", w.Code == http.StatusBadRequest},
		{"it is an uncached HTML page", w.Header().Get("Content-Type") == "text/html; charset=utf-8" && w.Header().Get("Cache-Control") == "no-store"},
		{"the title is the only h1", strings.Count(b, "<h1") == 1 && strings.Contains(b, "<h1>Unknown application</h1>")},
		{"the message is escaped", strings.Contains(b, "&lt;x&gt;") && !strings.Contains(b, "<x>")},
		{"the request id is shown as reference", strings.Contains(b, "<code>ref-42</code>")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok {
				t.Errorf("not so; page:\n%s", b)
			}
		})
	}
	t.Run("a tenant's error page shows the tenant's name", func(t *testing.T) {
		w := httptest.NewRecorder()
		TenantErrorPage(w, httptest.NewRequest("GET", "/", nil), PageData{TenantName: "Acme <Corp>"}, http.StatusBadRequest, "Oops", "Try again.")
		if b := w.Body.String(); w.Code != http.StatusBadRequest || !strings.Contains(b, `<p class="brand">Acme &lt;Corp&gt;</p>`) ||
			!strings.Contains(b, "Oops · Acme &lt;Corp&gt;</title>") {
			t.Errorf("status %d page:\n%s", w.Code, b)
		}
	})
}
