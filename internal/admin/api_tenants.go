package admin

import (
	"net/http"
	"strings"

	"github.com/umm-project/umm/internal/store"
)

// apiTenant is a tenant as the API shows it. Its settings are the lifetimes and switches that are plain
// values; the nested policies (profile schema, branding, MFA, risk) are managed with the seed for now.
type apiTenant struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Settings  apiTenantSettings `json:"settings"`
	CreatedAt string            `json:"created_at"`
	UpdatedAt string            `json:"updated_at"`
}

// apiTenantSettings are a tenant's lifetimes in seconds (0: the server's default) and switches.
type apiTenantSettings struct {
	SessionIdle     int64  `json:"session_idle"`
	SessionAbsolute int64  `json:"session_absolute"`
	AccessTokenTTL  int64  `json:"access_token_ttl"`
	IDTokenTTL      int64  `json:"id_token_ttl"`
	RefreshTokenTTL int64  `json:"refresh_token_ttl"`
	CodeTTL         int64  `json:"code_ttl"`
	DeviceCodeTTL   int64  `json:"device_code_ttl"`
	LoginRequestTTL int64  `json:"login_request_ttl"`
	Playground      bool   `json:"playground"`
	EmailFrom       string `json:"email_from"`
}

// apply writes the API's settings into stored ones, leaving the settings the API does not show alone.
func (s apiTenantSettings) apply(to *store.TenantSettings) {
	to.SessionIdle, to.SessionAbsolute, to.AccessTokenTTL, to.IDTokenTTL = s.SessionIdle, s.SessionAbsolute, s.AccessTokenTTL, s.IDTokenTTL
	to.RefreshTokenTTL, to.CodeTTL, to.DeviceCodeTTL, to.LoginRequestTTL = s.RefreshTokenTTL, s.CodeTTL, s.DeviceCodeTTL, s.LoginRequestTTL
	to.Playground, to.EmailFrom = s.Playground, s.EmailFrom
}

func tenantJSON(t store.Tenant) apiTenant {
	s := t.Settings
	return apiTenant{ID: t.ID, Name: t.Name, CreatedAt: timeJSON(t.CreatedAt), UpdatedAt: timeJSON(t.UpdatedAt),
		Settings: apiTenantSettings{
			SessionIdle: s.SessionIdle, SessionAbsolute: s.SessionAbsolute, AccessTokenTTL: s.AccessTokenTTL,
			IDTokenTTL: s.IDTokenTTL, RefreshTokenTTL: s.RefreshTokenTTL, CodeTTL: s.CodeTTL, DeviceCodeTTL: s.DeviceCodeTTL,
			LoginRequestTTL: s.LoginRequestTTL, Playground: s.Playground, EmailFrom: s.EmailFrom,
		}}
}

// createTenantBody is the body of POST /tenants.
type createTenantBody struct {
	ID       string            `json:"id"`
	Name     string            `json:"name,omitempty"`
	Settings apiTenantSettings `json:"settings,omitzero"`
}

// tenantPatchBody is what PATCH may change.
type tenantPatchBody struct {
	Name     string            `json:"name"`
	Settings apiTenantSettings `json:"settings"`
}

func (a *API) registerTenants() {
	r, w := scopeRead("tenants"), scopeWrite("tenants")
	a.handle("GET", "/tenants", r, a.listTenants)
	a.handle("POST", "/tenants", w, a.createTenant)
	a.handle("GET", "/tenants/{tenant}", r, a.getTenant)
	a.handle("PATCH", "/tenants/{tenant}", w, a.patchTenant)
	a.handle("DELETE", "/tenants/{tenant}", w, a.deleteTenant)

	const tag = "tenants"
	a.document("GET", "/tenants", opDoc{summary: "List tenants (operator tenant's clients only)", tag: tag, list: true, answer: apiTenant{}, query: pageParams})
	a.document("POST", "/tenants", opDoc{summary: "Create a tenant", tag: tag, body: createTenantBody{}, status: http.StatusCreated, answer: apiTenant{}, etag: true})
	a.document("GET", "/tenants/{tenant}", opDoc{summary: "Get a tenant", tag: tag, answer: apiTenant{}, etag: true})
	a.document("PATCH", "/tenants/{tenant}", opDoc{summary: "Change a tenant's name or settings", tag: tag, body: apiTenant{}, patch: true, answer: apiTenant{}, etag: true})
	a.document("DELETE", "/tenants/{tenant}", opDoc{summary: "Delete a tenant with everything in it (never the operator tenant)", tag: tag, status: http.StatusNoContent, etag: true})
}

func (a *API) listTenants(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	ts, err := a.svc.ListTenants(r.Context())
	if err != nil {
		return err
	}
	out := make([]apiTenant, 0, p.limit+1)
	for _, t := range ts { // ordered by id; tenants are few
		if t.ID > p.after && len(out) <= p.limit {
			out = append(out, tenantJSON(t))
		}
	}
	writeList(w, p, out, func(t apiTenant) string { return t.ID })
	return nil
}

func (a *API) createTenant(w http.ResponseWriter, r *http.Request, c *call) error {
	var b createTenantBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	if strings.TrimSpace(b.ID) == "" {
		return invalidInput("id is required", FieldError{Field: "id", Message: "is required: the tenant's id, used in its URLs (/t/{id})"})
	}
	in := TenantInput{ID: b.ID, Name: b.Name}
	b.Settings.apply(&in.Settings)
	c.tenant = b.ID // the event names the client with its own tenant
	t, err := a.svc.CreateTenant(r.Context(), in, c.actor())
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusCreated, APIPrefix+"/tenants/"+t.ID, tenantJSON(t))
}

func (a *API) getTenant(w http.ResponseWriter, r *http.Request, c *call) error {
	t, err := a.tenantOf(r.Context(), c)
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, "", tenantJSON(t))
}

func (a *API) patchTenant(w http.ResponseWriter, r *http.Request, c *call) error {
	t, err := a.tenantOf(r.Context(), c)
	if err != nil {
		return err
	}
	cur := tenantJSON(t)
	if err := checkIfMatch(r, cur); err != nil {
		return err
	}
	var b tenantPatchBody
	if err := patchInto(r, cur, &b, "id", "created_at", "updated_at"); err != nil {
		return err
	}
	t, err = a.svc.UpdateTenant(r.Context(), t.ID, TenantPatch{Name: &b.Name, Settings: b.Settings.apply}, c.actor())
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, "", tenantJSON(t))
}

func (a *API) deleteTenant(w http.ResponseWriter, r *http.Request, c *call) error {
	t, err := a.tenantOf(r.Context(), c)
	if err != nil {
		return err
	}
	if t.ID == a.operator {
		return problem(http.StatusConflict, "operator-tenant", "tenant "+t.ID+" is the operator tenant, whose clients manage this server: it cannot be deleted")
	}
	if err := checkIfMatch(r, tenantJSON(t)); err != nil {
		return err
	}
	if err := a.svc.DeleteTenant(r.Context(), t.ID, c.actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
