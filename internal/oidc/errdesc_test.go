package oidc

import (
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// descriptionChars reports whether s holds only the characters RFC 6749 §5.2 allows in error_description:
// %x20-21 / %x23-5B / %x5D-7E.
func descriptionChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func TestErrorDescriptionIsFiltered(t *testing.T) {
	for _, in := range []string{"plain text", "quote \" and backslash \\", "RFC 6749 §5.2", "tab\tnewline\n", "é\x00\x7f"} {
		if got := errorDescription(in); !descriptionChars(got) || len(got) > len(in) {
			t.Errorf("errorDescription(%q) = %q", in, got)
		}
	}
	if got := errorDescription("keep: this (as is) [1-9] {x} ~!"); got != "keep: this (as is) [1-9] {x} ~!" {
		t.Errorf("allowed characters were changed: %q", got)
	}
}

// TestErrorWritersFilterDescriptions sends a description with forbidden characters through each writer.
func TestErrorWritersFilterDescriptions(t *testing.T) {
	f := newFixture(t, storetest.Open(t))
	bad := newErr("invalid_request", http.StatusBadRequest, nil, "bad \"quote\" \\ § \n end")
	check := func(t *testing.T, where, got string) {
		t.Helper()
		if got == "" || !descriptionChars(got) {
			t.Errorf("%s: error_description %q", where, got)
		}
	}
	r := httptest.NewRequest(http.MethodPost, testPublicURL+"/t/x/token", nil)
	w := httptest.NewRecorder()
	f.p.writeTokenError(w, r, bad)
	check(t, "token writer", decodeJSON(t, w)["error_description"].(string))

	w = httptest.NewRecorder()
	f.p.writeBearerError(w, r, f.tenant, bad)
	check(t, "bearer writer body", decodeJSON(t, w)["error_description"].(string))
	_, hdr, _ := strings.Cut(w.Header().Get("WWW-Authenticate"), `error_description="`)
	check(t, "bearer writer header", strings.TrimSuffix(hdr, `"`))

	w = httptest.NewRecorder()
	f.p.authorizeError(w, r, f.tenant, &redirectTarget{URI: "https://app.example.com/cb", Mode: modeQuery, Iss: "x"}, bad)
	check(t, "authorization writer", location(t, w).Query().Get("error_description"))
}

// TestErrorDescriptionsAreConstantText walks the package's source and checks every place an error
// description is built: each argument given as a description to a constructor of *Error (a function
// returning *Error with a parameter named desc), each Description field of an Error literal, and each
// "error_description" map entry. A description may be made of string literals and constants holding only
// the characters RFC 6749 §5.2 allows, numbers (strconv.Itoa, fmt.Sprintf with %d), the constructor's own
// desc parameter, and errorDescription(...). Anything else could carry request input and fails the test,
// except the expressions listed in vetted, each with the reason it cannot.
func TestErrorDescriptionsAreConstantText(t *testing.T) {
	vetted := map[string]string{
		`strings.Join(g.Scopes, " ")`: "the stored grant's scopes: values registered for the client, in scope-token characters",
		`knownParameters[i]`:          "a name from the server's own fixed list",
	}
	fset := token.NewFileSet()
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, p, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, file)
	}

	// Package-level string constants, and the constructors with the index of their desc parameter.
	consts := map[string]ast.Expr{}
	constructors := map[string]int{}
	for _, file := range files {
		for _, decl := range file.Decls {
			switch d := decl.(type) {
			case *ast.GenDecl:
				if d.Tok != token.CONST {
					continue
				}
				for _, spec := range d.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, name := range vs.Names {
						if i < len(vs.Values) {
							consts[name.Name] = vs.Values[i]
						}
					}
				}
			case *ast.FuncDecl:
				if !returnsError(d) {
					continue
				}
				i := 0
				for _, field := range d.Type.Params.List {
					for _, name := range field.Names {
						if name.Name == "desc" {
							constructors[d.Name.Name] = i
						}
						i++
					}
				}
			}
		}
	}
	if len(constructors) < 8 {
		t.Fatalf("found only the constructors %v: has the package changed shape?", constructors)
	}

	var checkExpr func(e ast.Expr, fn *ast.FuncDecl) string // "" when e is safe, else why not
	checkExpr = func(e ast.Expr, fn *ast.FuncDecl) string {
		switch x := e.(type) {
		case *ast.BasicLit:
			if x.Kind != token.STRING {
				return "not a string literal"
			}
			s, err := strconv.Unquote(x.Value)
			if err != nil {
				return err.Error()
			}
			if !descriptionChars(s) {
				return "holds characters RFC 6749 section 5.2 does not allow: " + strconv.Quote(s)
			}
			return ""
		case *ast.ParenExpr:
			return checkExpr(x.X, fn)
		case *ast.BinaryExpr:
			if x.Op != token.ADD {
				return "not a concatenation"
			}
			if why := checkExpr(x.X, fn); why != "" {
				return why
			}
			return checkExpr(x.Y, fn)
		case *ast.Ident:
			if v, ok := consts[x.Name]; ok {
				return checkExpr(v, fn)
			}
			if _, ok := constructors[fn.Name.Name]; ok && x.Name == "desc" {
				return "" // checked where the constructor is called
			}
			return "the variable " + x.Name + " may carry request input"
		case *ast.CallExpr:
			switch callee := exprString(fset, x.Fun); callee {
			case "strconv.Itoa", "errorDescription":
				return ""
			case "fmt.Sprintf":
				lit, ok := x.Args[0].(*ast.BasicLit)
				if !ok {
					return "fmt.Sprintf without a literal format"
				}
				format, _ := strconv.Unquote(lit.Value)
				if strings.Count(format, "%") != strings.Count(format, "%d") {
					return "fmt.Sprintf with a verb other than %d"
				}
				return checkExpr(lit, fn)
			}
		}
		if _, ok := vetted[exprString(fset, e)]; ok {
			return ""
		}
		return "built at run time from " + exprString(fset, e)
	}

	checked := 0
	for _, file := range files {
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				var desc ast.Expr
				switch x := n.(type) {
				case *ast.CallExpr:
					if id, ok := x.Fun.(*ast.Ident); ok {
						if i, ok := constructors[id.Name]; ok && i < len(x.Args) {
							desc = x.Args[i]
						}
					}
				case *ast.CompositeLit:
					if id, ok := x.Type.(*ast.Ident); ok && id.Name == "Error" {
						for _, el := range x.Elts {
							if kv, ok := el.(*ast.KeyValueExpr); ok && exprString(fset, kv.Key) == "Description" {
								desc = kv.Value
							}
						}
					}
				case *ast.KeyValueExpr:
					if lit, ok := x.Key.(*ast.BasicLit); ok && lit.Value == `"error_description"` {
						desc = x.Value
						if cl, ok := desc.(*ast.CompositeLit); ok && len(cl.Elts) == 1 { // url.Values{"error_description": {...}}
							desc = cl.Elts[0]
						}
					}
				case *ast.AssignStmt:
					for i, lhs := range x.Lhs {
						if sel, ok := lhs.(*ast.SelectorExpr); ok && sel.Sel.Name == "Description" && i < len(x.Rhs) {
							desc = x.Rhs[i]
						}
					}
				}
				if desc != nil {
					checked++
					if why := checkExpr(desc, fn); why != "" {
						t.Errorf("%s: in %s, description %s: %s", fset.Position(desc.Pos()), fn.Name.Name, exprString(fset, desc), why)
					}
				}
				return true
			})
		}
	}
	if checked < 100 {
		t.Fatalf("checked only %d descriptions: the walk misses constructors", checked)
	}
	t.Logf("checked %d descriptions built by %d constructors", checked, len(constructors))
}

// returnsError reports whether fn returns exactly *Error.
func returnsError(fn *ast.FuncDecl) bool {
	r := fn.Type.Results
	if r == nil || len(r.List) != 1 {
		return false
	}
	star, ok := r.List[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	id, ok := star.X.(*ast.Ident)
	return ok && id.Name == "Error"
}

func exprString(fset *token.FileSet, e ast.Expr) string {
	var b strings.Builder
	if err := printer.Fprint(&b, fset, e); err != nil {
		return "?"
	}
	return b.String()
}

// TestErrorDescriptionsNeverEchoRequestInput sends requests whose every part carries a marker (with
// characters error_description may not hold) to each endpoint, and checks that no answer repeats the marker
// and that every error_description holds only the characters RFC 6749 §5.2 allows.
func TestErrorDescriptionsNeverEchoRequestInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newTokenEnv(t, db)
		const marker = "Zq9Xw"
		hostile := marker + "\"\\§<x>"
		authorize := func(mods ...func(url.Values)) *http.Request {
			v := url.Values{"client_id": {"web"}, "redirect_uri": {"https://app.example.com/cb"}, "response_type": {"code"},
				"scope": {"openid"}, "state": {"s"}}
			for _, m := range mods {
				m(v)
			}
			return httptest.NewRequest(http.MethodGet, testPublicURL+"/t/"+e.tenant.ID+"/authorize?"+v.Encode(), nil)
		}
		rawAuthorize := func(query string) *http.Request {
			return httptest.NewRequest(http.MethodGet, testPublicURL+"/t/"+e.tenant.ID+"/authorize?"+query, nil)
		}
		post := func(endpoint string, a clientAuth, form url.Values) *http.Request {
			for k, v := range a.form {
				form[k] = v
			}
			r := e.request(e.tenant.ID, endpoint, form)
			if a.basicID != "" {
				r.SetBasicAuth(url.QueryEscape(a.basicID), url.QueryEscape(a.basicSecret))
			}
			return r
		}
		rawPost := func(endpoint, body string) *http.Request {
			r := httptest.NewRequest(http.MethodPost, testPublicURL+"/t/"+e.tenant.ID+"/"+endpoint, strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.SetBasicAuth("web", url.QueryEscape(secretBasic))
			return r
		}
		withHeader := func(r *http.Request, k, v string) *http.Request { r.Header.Set(k, v); return r }
		m2m, tv := basicAuth("m2m", secretM2M), basicAuth("tv", secretBasic)
		rt := e.login()["refresh_token"].(string)

		requests := map[string]*http.Request{
			"authorize: an unknown client_id":             authorize(set("client_id", hostile)),
			"authorize: an unregistered redirect_uri":     authorize(set("redirect_uri", "https://app.example.com/"+hostile)),
			"authorize: a malformed query":                rawAuthorize("client_id=web&x=%zz" + marker),
			"authorize: only unknown scopes":              authorize(set("scope", marker)),
			"authorize: a malformed scope":                authorize(set("scope", hostile)),
			"authorize: an unknown response_type":         authorize(set("response_type", hostile)),
			"authorize: an unknown response_mode":         authorize(set("response_mode", hostile)),
			"authorize: an unknown prompt":                authorize(set("prompt", hostile)),
			"authorize: a malformed max_age":              authorize(set("max_age", hostile)),
			"authorize: a malformed code_challenge":       authorize(set("code_challenge", hostile), set("code_challenge_method", "S256")),
			"authorize: an unknown code_challenge_method": authorize(set("code_challenge", testChallenge), set("code_challenge_method", hostile)),
			"authorize: a nonce with control characters":  authorize(set("nonce", hostile+"\x01")),
			"authorize: a state with control characters":  authorize(set("state", hostile+"\x01")),
			"authorize: a login_hint with control chars":  authorize(set("login_hint", hostile+"\x01")),
			"authorize: acr_values with control chars":    authorize(set("acr_values", hostile+"\x01")),
			"authorize: a repeated unknown parameter":     authorize(add(marker, "1"), add(marker, "2")),
			"authorize: a request object":                 authorize(set("request", hostile)),
			"token: an unknown grant_type":                post("token", webAuth, url.Values{"grant_type": {hostile}}),
			"token: a repeated unknown parameter":         rawPost("token", "grant_type=refresh_token&"+marker+"=1&"+marker+"=2"),
			"token: a malformed body":                     rawPost("token", "grant_type=%zz"+marker),
			"token: a client_credentials scope":           post("token", m2m, url.Values{"grant_type": {grantClientCredentials}, "scope": {"orders:read " + marker}}),
			"token: a malformed client_credentials scope": post("token", m2m, url.Values{"grant_type": {grantClientCredentials}, "scope": {hostile}}),
			"token: an unknown code":                      post("token", webAuth, url.Values{"grant_type": {grantAuthorizationCode}, "code": {hostile}, "redirect_uri": {hostile}}),
			"token: an unknown refresh token":             post("token", webAuth, url.Values{"grant_type": {grantRefreshToken}, "refresh_token": {hostile}}),
			"token: a refresh asking a wider scope":       post("token", webAuth, url.Values{"grant_type": {grantRefreshToken}, "refresh_token": {rt}, "scope": {"openid " + marker}}),
			"token: an unknown device code":               post("token", tv, url.Values{"grant_type": {grantDeviceCode}, "device_code": {hostile}}),
			"token: an unknown client":                    post("token", publicAuth(hostile), url.Values{"grant_type": {grantAuthorizationCode}}),
			"token: a wrong secret":                       post("token", basicAuth("web", hostile), url.Values{"grant_type": {grantAuthorizationCode}}),
			"token: an unknown assertion type":            post("token", clientAuth{}, url.Values{"grant_type": {grantClientCredentials}, "client_assertion_type": {hostile}, "client_assertion": {hostile}}),
			"token: a malformed assertion":                post("token", clientAuth{}, url.Values{"grant_type": {grantClientCredentials}, "client_assertion_type": {assertionTypeJWTBearer}, "client_assertion": {hostile + ".a.b"}}),
			"token: another Authorization scheme":         withHeader(post("token", clientAuth{}, url.Values{"grant_type": {grantAuthorizationCode}}), "Authorization", marker+" "+hostile),
			"token: another content type":                 withHeader(post("token", webAuth, url.Values{}), "Content-Type", "text/"+marker),
			"introspect: a made-up token":                 post("introspect", webAuth, url.Values{"token": {hostile}, "token_type_hint": {hostile}}),
			"introspect: a public client":                 post("introspect", publicAuth("spa"), url.Values{"token": {hostile}}),
			"revoke: a made-up token":                     post("revoke", webAuth, url.Values{"token": {hostile + ".x.y"}}),
			"device_authorization: an unknown scope":      post("device_authorization", tv, url.Values{"scope": {"openid " + marker}}),
			"userinfo: a made-up bearer token":            withHeader(httptest.NewRequest(http.MethodGet, testPublicURL+"/t/"+e.tenant.ID+"/userinfo", nil), "Authorization", "Bearer "+marker+".a.b"),
			"userinfo: another scheme":                    withHeader(httptest.NewRequest(http.MethodGet, testPublicURL+"/t/"+e.tenant.ID+"/userinfo", nil), "Authorization", marker+" x"),
		}
		for name, r := range requests {
			t.Run(name, func(t *testing.T) {
				w := e.serve(r)
				var descs []string
				switch {
				case w.Code < 300 && !strings.Contains(name, "made-up"):
					t.Fatalf("status %d: want an error; body %.300s", w.Code, w.Body)
				case w.Code == http.StatusFound:
					q := location(t, w).Query()
					if q.Get("error") == "" {
						t.Fatalf("redirect without error: %s", w.Header().Get("Location"))
					}
					descs = append(descs, q.Get("error_description"))
				case w.Code >= 300 && strings.HasPrefix(w.Header().Get("Content-Type"), "application/json"):
					m := decodeJSON(t, w)
					d, _ := m["error_description"].(string)
					descs = append(descs, d)
				}
				if h := w.Header().Get("WWW-Authenticate"); strings.Contains(h, "error_description") {
					_, d, _ := strings.Cut(h, `error_description="`)
					d, _, _ = strings.Cut(d, `"`)
					descs = append(descs, d)
				}
				for _, d := range descs {
					if d == "" || !descriptionChars(d) {
						t.Errorf("error_description %q", d)
					}
				}
				for where, s := range map[string]string{"body": w.Body.String(), "Location": w.Header().Get("Location"),
					"WWW-Authenticate": w.Header().Get("WWW-Authenticate")} {
					if strings.Contains(strings.ToLower(s), strings.ToLower(marker)) {
						t.Errorf("the %s repeats request input: %.400s", where, s)
					}
				}
			})
		}
	})
}
