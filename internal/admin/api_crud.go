package admin

import (
	"context"
	"net/http"
	"net/url"
)

// crud is a tenant's collection whose five operations follow the API's conventions exactly: a keyset
// list, create (201 + Location), get, merge-patch update and delete, the writes guarded by If-Match. A
// resource file describes its service calls and representations in one; serveCRUD routes and
// documents them, so the conventions live in one place. S is the stored value, J its representation,
// B the body of a create (also what a patch is decoded into).
type crud[S, J, B any] struct {
	api        *API
	collection string // the path segment, the scopes' resource and the document's tag
	param      string // the path parameter naming one ("id", "name")
	readOnly   []string

	list   func(ctx context.Context, tenant, after string, limit int) ([]S, error)
	get    func(ctx context.Context, tenant, id string) (S, error)
	create func(ctx context.Context, tenant string, b B, actor string) (S, error)
	// update applies b to cur, whose fixed fields it keeps.
	update func(ctx context.Context, tenant string, cur S, b B, actor string) (S, error)
	remove func(ctx context.Context, tenant string, cur S, actor string) error
	view   func(S) J
	key    func(J) string // the position of a representation in the list (its id)

	// Summaries of the operations in the OpenAPI document.
	listDoc, createDoc, getDoc, patchDoc, deleteDoc string
}

// serveCRUD adds the five operations of c and their descriptions.
func serveCRUD[S, J, B any](a *API, c crud[S, J, B]) {
	c.api = a
	base := "/tenants/{tenant}/" + c.collection
	one := base + "/{" + c.param + "}"
	r, w := scopeRead(c.collection), scopeWrite(c.collection)
	a.handle("GET", base, r, c.serveList)
	a.handle("POST", base, w, c.serveCreate)
	a.handle("GET", one, r, c.serveGet)
	a.handle("PATCH", one, w, c.servePatch)
	a.handle("DELETE", one, w, c.serveDelete)

	var j J
	var b B
	tag := c.collection
	a.document("GET", base, opDoc{summary: c.listDoc, tag: tag, list: true, answer: j, query: pageParams})
	a.document("POST", base, opDoc{summary: c.createDoc, tag: tag, body: b, status: http.StatusCreated, answer: j, etag: true})
	a.document("GET", one, opDoc{summary: c.getDoc, tag: tag, answer: j, etag: true})
	a.document("PATCH", one, opDoc{summary: c.patchDoc, tag: tag, body: j, patch: true, answer: j, etag: true})
	a.document("DELETE", one, opDoc{summary: c.deleteDoc, tag: tag, status: http.StatusNoContent, etag: true})
}

// load reads the path's item, after a 404 for a path tenant that does not exist.
func (c crud[S, J, B]) load(r *http.Request, cl *call) (S, error) {
	if _, err := c.api.tenantOf(r.Context(), cl); err != nil {
		var zero S
		return zero, err
	}
	return c.get(r.Context(), cl.tenant, r.PathValue(c.param))
}

func (c crud[S, J, B]) serveList(w http.ResponseWriter, r *http.Request, cl *call) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	if _, err := c.api.tenantOf(r.Context(), cl); err != nil {
		return err
	}
	xs, err := c.list(r.Context(), cl.tenant, p.after, p.limit+1)
	if err != nil {
		return err
	}
	writePage(w, p, xs, c.view, c.key)
	return nil
}

func (c crud[S, J, B]) serveCreate(w http.ResponseWriter, r *http.Request, cl *call) error {
	if _, err := c.api.tenantOf(r.Context(), cl); err != nil {
		return err
	}
	var b B
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	x, err := c.create(r.Context(), cl.tenant, b, cl.actor())
	if err != nil {
		return err
	}
	v := c.view(x)
	return writeResource(w, http.StatusCreated, c.api.location(cl, c.collection, url.PathEscape(c.key(v))), v)
}

func (c crud[S, J, B]) serveGet(w http.ResponseWriter, r *http.Request, cl *call) error {
	x, err := c.load(r, cl)
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, "", c.view(x))
}

func (c crud[S, J, B]) servePatch(w http.ResponseWriter, r *http.Request, cl *call) error {
	x, err := c.load(r, cl)
	if err != nil {
		return err
	}
	cur := c.view(x)
	if err := checkIfMatch(r, cur); err != nil {
		return err
	}
	var b B
	if err := patchInto(r, cur, &b, c.readOnly...); err != nil {
		return err
	}
	if x, err = c.update(r.Context(), cl.tenant, x, b, cl.actor()); err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, "", c.view(x))
}

func (c crud[S, J, B]) serveDelete(w http.ResponseWriter, r *http.Request, cl *call) error {
	x, err := c.load(r, cl)
	if err != nil {
		return err
	}
	if err := checkIfMatch(r, c.view(x)); err != nil {
		return err
	}
	if err := c.remove(r.Context(), cl.tenant, x, cl.actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
