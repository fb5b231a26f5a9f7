package servertest

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// Browser is a cookie-keeping HTTP client that does not follow redirects: each response, redirects
// included, comes back to the test. Its methods fail the test on transport errors and return the
// response with its body already read (and closed) as a string.
type Browser struct {
	*http.Client
	t testing.TB
}

// NewBrowser returns a browser with an empty cookie jar.
func (s *Server) NewBrowser(t testing.TB) *Browser { return NewBrowser(t) }

// NewBrowser returns a browser with an empty cookie jar.
func NewBrowser(t testing.TB) *Browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Browser{t: t, Client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Do sends req and returns the response and its body.
func (b *Browser) Do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.Client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return resp, string(body)
}

// Get fetches rawURL.
func (b *Browser) Get(rawURL string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.Do(req)
}

// PostForm posts form to rawURL as a browser submitting a same-origin form does (with an Origin header).
func (b *Browser) PostForm(rawURL string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", req.URL.Scheme+"://"+req.URL.Host)
	return b.Do(req)
}

// Follow fetches the Location of a redirect response, resolved against its request URL. It fails the
// test when resp is not a redirect.
func (b *Browser) Follow(resp *http.Response) (*http.Response, string) {
	b.t.Helper()
	loc := Location(b.t, resp)
	return b.Get(loc.String())
}

// Location returns the absolute Location of a redirect response, failing the test when there is none.
func Location(t testing.TB, resp *http.Response) *url.URL {
	t.Helper()
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		t.Fatalf("%s %s: status %d, want a redirect", resp.Request.Method, resp.Request.URL, resp.StatusCode)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("%s %s: redirect without a usable Location: %v", resp.Request.Method, resp.Request.URL, err)
	}
	return loc
}

// Form is an HTML form found on a page: where it posts and the values it would send as it stands
// (hidden fields, pre-filled inputs, checked boxes, the first option or the selected one).
type Form struct {
	Action string // absolute
	Method string // upper case; GET when absent
	Values url.Values
}

// GetForm fetches rawURL and returns its first form (or the first whose action contains actionContains,
// when given), failing the test when the page has none.
func (b *Browser) GetForm(rawURL string, actionContains ...string) (Form, *http.Response, string) {
	b.t.Helper()
	resp, body := b.Get(rawURL)
	forms := ParseForms(resp.Request.URL, body)
	for _, f := range forms {
		if len(actionContains) == 0 || strings.Contains(f.Action, actionContains[0]) {
			return f, resp, body
		}
	}
	b.t.Fatalf("GET %s: status %d, no form found in:\n%s", rawURL, resp.StatusCode, body)
	return Form{}, resp, body
}

// Submit sends the form with its values, overridden by set (a value set to "" is sent empty), as the
// button named by the set's keys would. A GET form is sent as a query.
func (b *Browser) Submit(f Form, set url.Values) (*http.Response, string) {
	b.t.Helper()
	v := url.Values{}
	for k, vs := range f.Values {
		v[k] = append([]string(nil), vs...)
	}
	for k, vs := range set {
		v[k] = vs
	}
	if f.Method == http.MethodGet {
		u, err := url.Parse(f.Action)
		if err != nil {
			b.t.Fatal(err)
		}
		u.RawQuery = v.Encode()
		return b.Get(u.String())
	}
	return b.PostForm(f.Action, v)
}

var (
	csrfInput  = regexp.MustCompile(`(?is)<input\b[^>]*\bname="csrf_token"[^>]*>`)
	formTag    = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputTag   = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	selectTag  = regexp.MustCompile(`(?is)<select\b([^>]*)>(.*?)</select>`)
	optionTag  = regexp.MustCompile(`(?is)<option\b([^>]*)>`)
	textarea   = regexp.MustCompile(`(?is)<textarea\b([^>]*)>(.*?)</textarea>`)
	attrRegexp = regexp.MustCompile(`(?is)([a-z_:-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?`)
)

// ParseCSRF returns the value of the csrf_token field of a page ("" when there is none).
func ParseCSRF(body string) string {
	m := csrfInput.FindString(body)
	if m == "" {
		return ""
	}
	return attrs(m[len("<input"):])["value"]
}

// ParseForms returns the forms of a page, actions resolved against base.
func ParseForms(base *url.URL, body string) []Form {
	var out []Form
	for _, m := range formTag.FindAllStringSubmatch(body, -1) {
		a := attrs(m[1])
		f := Form{Method: strings.ToUpper(a["method"]), Values: url.Values{}}
		if f.Method == "" {
			f.Method = http.MethodGet
		}
		action := base
		if act, ok := a["action"]; ok && act != "" {
			if u, err := base.Parse(act); err == nil {
				action = u
			}
		}
		f.Action = action.String()
		inner := m[2]
		for _, im := range inputTag.FindAllStringSubmatch(inner, -1) {
			ia := attrs(im[1])
			name, ok := ia["name"]
			if !ok || name == "" {
				continue
			}
			switch strings.ToLower(ia["type"]) {
			case "submit", "button", "image", "reset":
				continue // sent only when clicked: pass it in Submit's set
			case "checkbox", "radio":
				if _, checked := ia["checked"]; !checked {
					continue
				}
				if _, has := ia["value"]; !has {
					ia["value"] = "on"
				}
			}
			f.Values.Add(name, ia["value"])
		}
		for _, sm := range selectTag.FindAllStringSubmatch(inner, -1) {
			name := attrs(sm[1])["name"]
			if name == "" {
				continue
			}
			var first, selected string
			var haveFirst, haveSelected bool
			for _, om := range optionTag.FindAllStringSubmatch(sm[2], -1) {
				oa := attrs(om[1])
				if !haveFirst {
					first, haveFirst = oa["value"], true
				}
				if _, ok := oa["selected"]; ok && !haveSelected {
					selected, haveSelected = oa["value"], true
				}
			}
			if haveSelected {
				f.Values.Add(name, selected)
			} else if haveFirst {
				f.Values.Add(name, first)
			}
		}
		for _, tm := range textarea.FindAllStringSubmatch(inner, -1) {
			if name := attrs(tm[1])["name"]; name != "" {
				f.Values.Add(name, html.UnescapeString(tm[2]))
			}
		}
		out = append(out, f)
	}
	return out
}

// attrs parses the attributes of a tag (everything after its name), unescaping values.
func attrs(s string) map[string]string {
	out := map[string]string{}
	s = strings.TrimSuffix(strings.TrimSpace(s), "/")
	for _, m := range attrRegexp.FindAllStringSubmatch(s, -1) {
		name := strings.ToLower(m[1])
		if _, dup := out[name]; dup {
			continue
		}
		out[name] = html.UnescapeString(m[2] + m[3] + m[4])
	}
	return out
}
