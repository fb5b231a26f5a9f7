package admin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestOpenAPIDescribesExactlyTheRoutes(t *testing.T) {
	t.Parallel()
	a := NewAPI(APIDeps{})
	routes := map[string]bool{}
	for _, rt := range a.routes {
		k := rt.method + " " + rt.pattern
		if routes[k] {
			t.Errorf("%s is registered twice", k)
		}
		routes[k] = true
	}
	if len(routes) < 2 || len(a.docs) < 2 {
		t.Fatalf("%d routes and %d descriptions: the API registered nothing", len(routes), len(a.docs))
	}
	for k := range routes {
		if _, ok := a.docs[k]; !ok {
			t.Errorf("route %s has no description in the OpenAPI document: add its a.document", k)
		}
	}
	for k := range a.docs {
		if !routes[k] {
			t.Errorf("the OpenAPI document describes %s, which no route serves", k)
		}
	}
	ids := map[string]string{}
	for k := range a.docs {
		method, pattern, _ := strings.Cut(k, " ")
		id := operationID(method, pattern)
		if other, ok := ids[id]; ok {
			t.Errorf("%s and %s share the operationId %s", k, other, id)
		}
		ids[id] = k
	}
}

func TestOpenAPIOperationsAreServed(t *testing.T) {
	t.Parallel()
	a := NewAPI(APIDeps{})
	mux := http.NewServeMux()
	a.Routes(mux)
	for k, d := range a.docs {
		method, pattern, _ := strings.Cut(k, " ")
		path := pathParam.ReplaceAllStringFunc(pattern, func(m string) string { return "p-" + strings.Trim(m, "{}") })
		t.Run(k, func(t *testing.T) {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(method, APIPrefix+path, nil))
			var p Problem
			_ = json.Unmarshal(rec.Body.Bytes(), &p)
			if p.Type == ProblemTypeBase+"no-such-route" || p.Type == ProblemTypeBase+"method-not-allowed" {
				t.Fatalf("%s %s = %d %s: the documented operation is not served", method, path, rec.Code, p.Type)
			}
			want := http.StatusUnauthorized // without a token: the route exists and asks for one
			if d.public {
				want = http.StatusOK
			}
			if rec.Code != want {
				t.Errorf("%s %s = %d, want %d\n%s", method, path, rec.Code, want, rec.Body)
			}
		})
	}
}

func TestOpenAPIRefusesUnservedPaths(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	NewAPI(APIDeps{}).Routes(mux)
	for _, c := range []struct{ method, path, slug string }{
		{"GET", "/tenants/acme/nothing-here", "no-such-route"},
		{"PUT", "/tenants/acme/clients/web", "method-not-allowed"},
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(c.method, APIPrefix+c.path, nil))
		var p Problem
		_ = json.Unmarshal(rec.Body.Bytes(), &p)
		if p.Type != ProblemTypeBase+c.slug {
			t.Errorf("%s %s = %d %q, want the %s problem (the served check above relies on it)", c.method, c.path, rec.Code, p.Type, c.slug)
		}
	}
}
