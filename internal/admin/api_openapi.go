package admin

import (
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strings"
)

// The OpenAPI 3.1 document is written from the operations' descriptions (opDoc), kept apart from the
// route table on purpose: a test compares the two, so an operation served without a description, or
// described without being served, fails the build instead of misleading a client generator.

// opDoc describes one operation.
type opDoc struct {
	summary string
	tag     string
	query   []paramDoc // query parameters
	body    any        // a value of the request body's type; nil when there is none
	patch   bool       // the body is a JSON merge patch of the resource
	status  int        // the success status (200 when zero)
	answer  any        // a value of the success body's type; nil for 204
	list    bool       // the answer is {"data": [answer...], "next_cursor"}
	public  bool       // no token needed
	etag    bool       // the answer carries an ETag; the operation honours If-Match when it writes
	stream  string     // the answer is a stream of this media type (text/event-stream), described in words
	replace bool       // a create that may also replace: 200 with the same body when the resource existed
	bodyOpt bool       // the body may be left out (its defaults apply)
}

// paramDoc is a query parameter.
type paramDoc struct {
	name, desc string
	enum       []string
	integer    bool
}

// pageParams are the query parameters of every paginated list.
var pageParams = []paramDoc{
	{name: "limit", desc: "Items per page, 1 to 200 (default 50).", integer: true},
	{name: "cursor", desc: "The next_cursor of the previous page."},
}

// document adds the description of an operation.
func (a *API) document(method, pattern string, d opDoc) {
	if a.docs == nil {
		a.docs = map[string]opDoc{}
	}
	a.docs[method+" "+pattern] = d
}

func (a *API) serveOpenAPI(w http.ResponseWriter, r *http.Request, c *call) error {
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Del("Pragma")
	writeJSON(w, http.StatusOK, a.openAPI())
	return nil
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// openAPI builds the document.
func (a *API) openAPI() map[string]any {
	schemas := map[string]any{}
	gen := &schemaGen{defs: schemas}
	gen.ref(reflect.TypeOf(Problem{}))
	paths := map[string]any{}
	keys := make([]string, 0, len(a.docs))
	for k := range a.docs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		d := a.docs[k]
		method, pattern, _ := strings.Cut(k, " ")
		item, _ := paths[pattern].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[pattern] = item
		}
		item[strings.ToLower(method)] = a.operation(method, pattern, d, gen)
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "UMM management API",
			"version":     "1",
			"description": "Manage tenants, users, clients, roles, groups, organizations, API resources, connections, consents, events, webhooks and signing keys. Authenticate with an access token that a client with management scopes obtains with grant_type=client_credentials.",
		},
		"servers": []any{map[string]any{"url": a.publicURL + APIPrefix}},
		"paths":   paths,
		"components": map[string]any{
			"schemas": schemas,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
					"description": "An access token of UMM (RFC 9068) whose audience is this API."},
			},
		},
		"security": []any{map[string]any{"bearer": []any{}}},
	}
}

func (a *API) operation(method, pattern string, d opDoc, gen *schemaGen) map[string]any {
	op := map[string]any{
		"summary":     d.summary,
		"operationId": operationID(method, pattern),
		"tags":        []any{d.tag},
	}
	var params []any
	for _, m := range pathParam.FindAllStringSubmatch(pattern, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
	}
	for _, q := range d.query {
		s := map[string]any{"type": "string"}
		if q.integer {
			s = map[string]any{"type": "integer"}
		}
		if len(q.enum) > 0 {
			s["enum"] = q.enum
		}
		params = append(params, map[string]any{"name": q.name, "in": "query", "description": q.desc, "schema": s})
	}
	if d.etag && method != http.MethodGet {
		params = append(params, map[string]any{"name": "If-Match", "in": "header", "description": "The ETag of the resource as last read; a stale one is answered 412.", "schema": map[string]any{"type": "string"}})
	}
	if method == http.MethodPost && !d.public {
		params = append(params, map[string]any{"name": "Idempotency-Key", "in": "header", "description": "Repeating a POST with the same key within 24 h replays its first answer.", "schema": map[string]any{"type": "string", "maxLength": 255}})
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	if d.body != nil {
		ct := "application/json"
		if d.patch {
			ct = "application/merge-patch+json"
		}
		schema := gen.ref(reflect.TypeOf(d.body))
		if d.patch {
			schema = map[string]any{"type": "object", "description": "A JSON merge patch (RFC 7386) of " + schemaName(reflect.TypeOf(d.body)) + ": the fields to change; read-only fields may only repeat their value."}
		}
		op["requestBody"] = map[string]any{"required": !d.bodyOpt, "content": map[string]any{ct: map[string]any{"schema": schema}}}
	}
	status := d.status
	if status == 0 {
		status = http.StatusOK
	}
	responses := map[string]any{}
	ok := map[string]any{"description": http.StatusText(status)}
	if d.answer != nil {
		s := gen.ref(reflect.TypeOf(d.answer))
		if d.list {
			s = map[string]any{"type": "object", "required": []any{"data"}, "additionalProperties": false, "properties": map[string]any{
				"data":        map[string]any{"type": "array", "items": s},
				"next_cursor": map[string]any{"type": "string", "description": "Absent on the last page."},
			}}
		}
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": s}}
	}
	if d.stream != "" {
		ok["content"] = map[string]any{d.stream: map[string]any{"schema": map[string]any{"type": "string"}}}
	}
	hdrs := map[string]any{}
	if d.etag {
		hdrs["ETag"] = map[string]any{"schema": map[string]any{"type": "string"}}
	}
	if status == http.StatusCreated {
		hdrs["Location"] = map[string]any{"schema": map[string]any{"type": "string"}}
	}
	if len(hdrs) > 0 {
		ok["headers"] = hdrs
	}
	responses[itoa(status)] = ok
	if d.replace {
		again := map[string]any{"description": "Replaced", "content": ok["content"]}
		if d.etag {
			again["headers"] = map[string]any{"ETag": map[string]any{"schema": map[string]any{"type": "string"}}}
		}
		responses[itoa(http.StatusOK)] = again
	}
	problemRef := map[string]any{"application/problem+json": map[string]any{"schema": gen.ref(reflect.TypeOf(Problem{}))}}
	errs := []int{http.StatusBadRequest, http.StatusNotFound, http.StatusTooManyRequests}
	if !d.public {
		errs = append(errs, http.StatusUnauthorized, http.StatusForbidden)
	}
	if method != http.MethodGet {
		errs = append(errs, http.StatusConflict, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity)
	}
	if d.etag && method != http.MethodGet {
		errs = append(errs, http.StatusPreconditionFailed)
	}
	for _, e := range errs {
		responses[itoa(e)] = map[string]any{"description": http.StatusText(e), "content": problemRef}
	}
	op["responses"] = responses
	if d.public {
		op["security"] = []any{}
	}
	return op
}

// operationID names an operation from its method and path: GET /tenants/{tenant}/users -> get_tenants_users.
func operationID(method, pattern string) string {
	var parts []string
	for _, seg := range strings.Split(strings.Trim(pattern, "/"), "/") {
		if strings.HasPrefix(seg, "{") {
			parts = append(parts, "by_"+strings.Trim(seg, "{}"))
			continue
		}
		parts = append(parts, strings.NewReplacer("-", "_", ".", "_").Replace(seg))
	}
	return strings.ToLower(method) + "_" + strings.Join(parts, "_")
}

// schemaGen writes JSON Schemas (2020-12, as OpenAPI 3.1 uses) of Go types into components.schemas.
type schemaGen struct {
	defs map[string]any
}

// ref returns the schema of t: a $ref for named structs (written once), inline otherwise.
func (g *schemaGen) ref(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		name := schemaName(t)
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = map[string]any{} // placeholder against recursion
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.ref(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.ref(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	}
	return map[string]any{"type": "string"}
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []any
	g.fields(t, props, &required)
	out := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

// fields adds the properties of t's fields; an embedded struct's fields are its own, as encoding/json
// flattens them.
func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]any) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			g.fields(f.Type, props, required)
			continue
		}
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		s := g.ref(f.Type)
		if f.Type.Kind() == reflect.Slice && !strings.Contains(opts, "omitempty") {
			// nil slices are answered as [] by the API, never null
			s = map[string]any{"type": "array", "items": g.ref(f.Type.Elem())}
		}
		if d := f.Tag.Get("doc"); d != "" {
			s = map[string]any{"allOf": []any{s}, "description": d}
		}
		props[name] = s
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			*required = append(*required, name)
		}
	}
}

// schemaName is the component name of a Go type: apiUser -> User, createUserBody -> CreateUserBody.
func schemaName(t reflect.Type) string {
	n := strings.TrimPrefix(t.Name(), "api")
	if n == "" {
		return t.Name()
	}
	return strings.ToUpper(n[:1]) + n[1:]
}
