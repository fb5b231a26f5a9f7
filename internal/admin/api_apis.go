package admin

import (
	"context"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/authz"
	"github.com/umm-project/umm/internal/store"
)

// apiAPI is an API resource (a resource server) as the management API shows it.
type apiAPI struct {
	ID            string          `json:"id"`
	Identifier    string          `json:"identifier" doc:"The resource indicator clients send (resource=); the aud of its tokens. It cannot change: create another API instead."`
	Name          string          `json:"name"`
	Permissions   []apiPermission `json:"permissions"`
	TokenLifetime int64           `json:"token_lifetime" doc:"Access token lifetime in seconds; 0 is the tenant's."`
	Claims        []string        `json:"claims" doc:"Extra access token claims: roles, permissions, groups, org_id, org_roles."`
	CreatedAt     string          `json:"created_at"`
	UpdatedAt     string          `json:"updated_at"`
}

// apiPermission is a permission an API defines.
type apiPermission struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// createAPIBody is the body of POST /apis and the writable view of an API in PATCH.
type createAPIBody struct {
	Identifier    string          `json:"identifier"`
	Name          string          `json:"name"`
	Permissions   []apiPermission `json:"permissions"`
	TokenLifetime int64           `json:"token_lifetime"`
	Claims        []string        `json:"claims"`
}

func (b createAPIBody) input() authz.APIInput {
	perms := make([]store.APIPermission, len(b.Permissions))
	for i, p := range b.Permissions {
		perms[i] = store.APIPermission{Name: p.Name, Description: p.Description}
	}
	return authz.APIInput{Identifier: strings.TrimSpace(b.Identifier), Name: b.Name, TokenLifetime: seconds(b.TokenLifetime),
		Claims: b.Claims, Permissions: perms}
}

// seconds converts a count of seconds from a body; a count too large for a Duration becomes -1 s, which
// validation refuses, instead of wrapping around to a value that might pass.
func seconds(n int64) time.Duration {
	if n > math.MaxInt64/int64(time.Second) {
		return -time.Second
	}
	return time.Duration(n) * time.Second
}

func apiJSON(x store.API) apiAPI {
	perms := make([]apiPermission, len(x.Permissions))
	for i, p := range x.Permissions {
		perms[i] = apiPermission{Name: p.Name, Description: p.Description}
	}
	claims := x.Claims
	if claims == nil {
		claims = []string{}
	}
	return apiAPI{ID: x.ID, Identifier: x.Identifier, Name: x.Name, Permissions: perms, TokenLifetime: int64(x.TokenLifetime / time.Second),
		Claims: claims, CreatedAt: timeJSON(x.CreatedAt), UpdatedAt: timeJSON(x.UpdatedAt)}
}

func (a *API) registerAPIs() {
	const base = "/tenants/{tenant}/apis"
	r, w := scopeRead("apis"), scopeWrite("apis")
	a.handle("GET", base, r, a.listAPIs)
	a.handle("POST", base, w, a.createAPI)
	a.handle("GET", base+"/{id}", r, a.getAPI)
	a.handle("PATCH", base+"/{id}", w, a.patchAPI)
	a.handle("DELETE", base+"/{id}", w, a.deleteAPI)

	const tag = "apis"
	a.document("GET", base, opDoc{summary: "List APIs", tag: tag, list: true, answer: apiAPI{}, query: pageParams})
	a.document("POST", base, opDoc{summary: "Create an API with its permissions", tag: tag, body: createAPIBody{}, status: http.StatusCreated, answer: apiAPI{}, etag: true})
	a.document("GET", base+"/{id}", opDoc{summary: "Get an API", tag: tag, answer: apiAPI{}, etag: true})
	a.document("PATCH", base+"/{id}", opDoc{summary: "Change an API's name, permissions, token lifetime or claims (a permission left out is taken from every role granting it)", tag: tag, body: apiAPI{}, patch: true, answer: apiAPI{}, etag: true})
	a.document("DELETE", base+"/{id}", opDoc{summary: "Delete an API and every role's grants of its permissions", tag: tag, status: http.StatusNoContent, etag: true})
}

// authzOf returns the authorization model's service once the path's tenant is known to exist.
func (a *API) authzOf(ctx context.Context, c *call) (*authz.Service, error) {
	if _, err := a.tenantOf(ctx, c); err != nil {
		return nil, err
	}
	return a.svc.Authz(), nil
}

func (a *API) listAPIs(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	az, err := a.authzOf(r.Context(), c)
	if err != nil {
		return err
	}
	xs, err := az.ListAPIs(r.Context(), c.tenant, p.after, p.limit+1)
	if err != nil {
		return err
	}
	out := make([]apiAPI, len(xs))
	for i, x := range xs {
		out[i] = apiJSON(x)
	}
	writeList(w, p, out, func(x apiAPI) string { return x.ID })
	return nil
}

func (a *API) createAPI(w http.ResponseWriter, r *http.Request, c *call) error {
	az, err := a.authzOf(r.Context(), c)
	if err != nil {
		return err
	}
	var b createAPIBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	x, err := az.CreateAPI(r.Context(), c.tenant, b.input(), c.actor())
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusCreated, a.location(c, "apis", x.ID), apiJSON(x))
}

// apiOf loads the path's API.
func (a *API) apiOf(r *http.Request, c *call) (*authz.Service, store.API, error) {
	az, err := a.authzOf(r.Context(), c)
	if err != nil {
		return nil, store.API{}, err
	}
	x, err := az.GetAPI(r.Context(), c.tenant, r.PathValue("id"))
	return az, x, err
}

func (a *API) getAPI(w http.ResponseWriter, r *http.Request, c *call) error {
	_, x, err := a.apiOf(r, c)
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, "", apiJSON(x))
}

func (a *API) patchAPI(w http.ResponseWriter, r *http.Request, c *call) error {
	az, x, err := a.apiOf(r, c)
	if err != nil {
		return err
	}
	cur := apiJSON(x)
	if err := checkIfMatch(r, cur); err != nil {
		return err
	}
	// The identifier is the audience resource servers check: changing it would silently invalidate
	// every token they accept, so it is fixed at creation.
	var b createAPIBody
	if err := patchInto(r, cur, &b, "id", "identifier", "created_at", "updated_at"); err != nil {
		return err
	}
	b.Identifier = x.Identifier
	x, err = az.UpdateAPI(r.Context(), c.tenant, x.ID, b.input(), c.actor())
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, "", apiJSON(x))
}

func (a *API) deleteAPI(w http.ResponseWriter, r *http.Request, c *call) error {
	az, x, err := a.apiOf(r, c)
	if err != nil {
		return err
	}
	if err := checkIfMatch(r, apiJSON(x)); err != nil {
		return err
	}
	if err := az.DeleteAPI(r.Context(), c.tenant, x.ID, c.actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
