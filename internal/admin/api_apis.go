package admin

import (
	"context"
	"math"
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
	az := a.authzService()
	serveCRUD(a, crud[store.API, apiAPI, createAPIBody]{
		collection: "apis", param: "id",
		// The identifier is the audience resource servers check: changing it would silently invalidate
		// every token they accept, so it is fixed at creation.
		readOnly: []string{"id", "identifier", "created_at", "updated_at"},
		list:     az.ListAPIs, get: az.GetAPI,
		create: func(ctx context.Context, tenant string, b createAPIBody, actor string) (store.API, error) {
			return az.CreateAPI(ctx, tenant, b.input(), actor)
		},
		update: func(ctx context.Context, tenant string, cur store.API, b createAPIBody, actor string) (store.API, error) {
			b.Identifier = cur.Identifier
			return az.UpdateAPI(ctx, tenant, cur.ID, b.input(), actor)
		},
		remove: func(ctx context.Context, tenant string, cur store.API, actor string) error {
			return az.DeleteAPI(ctx, tenant, cur.ID, actor)
		},
		view: apiJSON, key: func(x apiAPI) string { return x.ID },
		listDoc:   "List APIs",
		createDoc: "Create an API with its permissions",
		getDoc:    "Get an API",
		patchDoc:  "Change an API's name, permissions, token lifetime or claims (a permission left out is taken from every role granting it)",
		deleteDoc: "Delete an API and every role's grants of its permissions",
	})
}

// authzService is the authorization model's service; nil only for an API built without a service (the
// route and document tests), whose calls never get past authentication.
func (a *API) authzService() *authz.Service {
	if a.svc == nil {
		return nil
	}
	return a.svc.Authz()
}

// authzOf returns the authorization model's service once the path's tenant is known to exist.
func (a *API) authzOf(ctx context.Context, c *call) (*authz.Service, error) {
	if _, err := a.tenantOf(ctx, c); err != nil {
		return nil, err
	}
	return a.svc.Authz(), nil
}
