package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
)

// apiConnection is an upstream identity provider of a tenant: the settings of config.Connection (the keys
// of the seed's tenants[].connections[]) under the same names. Its secrets are write-only: a write may
// set them, an answer only says whether each is set; a write that leaves one out keeps the stored one.
type apiConnection struct {
	ID               string              `json:"id"`
	Type             string              `json:"type" doc:"A social preset, oidc, oauth2, saml or ldap."`
	DisplayName      string              `json:"display_name,omitempty"`
	Logo             string              `json:"logo,omitempty"`
	Disabled         bool                `json:"disabled,omitempty"`
	Domains          []string            `json:"domains,omitempty"`
	TrustEmail       bool                `json:"trust_email,omitempty"`
	TrustAMR         bool                `json:"trust_amr,omitempty"`
	RoleMapping      map[string][]string `json:"role_mapping,omitempty"`
	Issuer           string              `json:"issuer,omitempty"`
	ClientID         string              `json:"client_id,omitempty"`
	Scopes           []string            `json:"scopes,omitempty"`
	Claims           map[string]string   `json:"claims,omitempty"`
	StoreTokens      bool                `json:"store_tokens,omitempty"`
	AuthorizationURL string              `json:"authorization_url,omitempty"`
	TokenURL         string              `json:"token_url,omitempty"`
	UserinfoURL      string              `json:"userinfo_url,omitempty"`
	SubjectClaim     string              `json:"subject_claim,omitempty"`
	TeamID           string              `json:"team_id,omitempty"`
	KeyID            string              `json:"key_id,omitempty"`
	Tenant           string              `json:"tenant,omitempty"`
	MetadataURL      string              `json:"metadata_url,omitempty"`
	MetadataXML      string              `json:"metadata_xml,omitempty"`
	Attributes       map[string]string   `json:"attributes,omitempty"`
	SignRequests     bool                `json:"sign_requests,omitempty"`
	URL              string              `json:"url,omitempty"`
	StartTLS         bool                `json:"start_tls,omitempty"`
	CACert           string              `json:"ca_cert,omitempty"`
	BindDN           string              `json:"bind_dn,omitempty"`
	BaseDN           string              `json:"base_dn,omitempty"`
	UserFilter       string              `json:"user_filter,omitempty"`
	LoginAttr        string              `json:"login_attribute,omitempty"`
	GroupBaseDN      string              `json:"group_base_dn,omitempty"`
	GroupFilter      string              `json:"group_filter,omitempty"`
	Mode             string              `json:"mode,omitempty"`
	Fallback         bool                `json:"fallback,omitempty"`
	Timeout          string              `json:"timeout,omitempty" doc:"A duration such as 10s."`
	SyncInterval     string              `json:"sync_interval,omitempty" doc:"A duration such as 1h; directory sync runs this often."`
	Position         int                 `json:"position" doc:"The place of the connection's button on the sign-in page (0 first)."`

	ClientSecret string `json:"client_secret,omitempty" doc:"Write-only."`
	PrivateKey   string `json:"private_key,omitempty" doc:"Write-only."`
	BindPassword string `json:"bind_password,omitempty" doc:"Write-only."`

	ClientSecretSet bool   `json:"client_secret_set"`
	PrivateKeySet   bool   `json:"private_key_set"`
	BindPasswordSet bool   `json:"bind_password_set"`
	CreatedAt       string `json:"created_at,omitempty"`
	UpdatedAt       string `json:"updated_at,omitempty"`
	SyncedAt        string `json:"synced_at,omitempty"`
}

// connectionReadOnly are the fields a write cannot change.
var connectionReadOnly = []string{"id", "type", "client_secret_set", "private_key_set", "bind_password_set", "created_at", "updated_at", "synced_at"}

// connectionJSON shows a connection. The settings travel through their JSON form, which config.Connection
// defines without the secrets.
func connectionJSON(rec ConnectionRecord) (apiConnection, error) {
	var out apiConnection
	raw, err := json.Marshal(rec.Connection)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, err
	}
	sec := rec.Secrets()
	out.ClientSecretSet, out.PrivateKeySet, out.BindPasswordSet = sec.ClientSecret != "", sec.PrivateKey != "", sec.BindPassword != ""
	out.Position = rec.Position
	out.CreatedAt, out.UpdatedAt, out.SyncedAt = timeJSON(rec.CreatedAt), timeJSON(rec.UpdatedAt), timeJSON(rec.SyncedAt)
	return out, nil
}

// connectionConfig turns a written connection into settings, with field errors for values of the wrong form.
func connectionConfig(b apiConnection) (config.Connection, error) {
	var c config.Connection
	for _, d := range []struct{ field, v string }{{"timeout", b.Timeout}, {"sync_interval", b.SyncInterval}} {
		var dur config.Duration
		if d.v != "" && dur.UnmarshalText([]byte(d.v)) != nil {
			return c, invalidInput(d.field+" is not a duration", FieldError{Field: d.field, Message: "must be a duration such as 30s, 10m or 1h"})
		}
	}
	sec := config.ConnectionSecrets{ClientSecret: b.ClientSecret, PrivateKey: b.PrivateKey, BindPassword: b.BindPassword}
	b.ClientSecret, b.PrivateKey, b.BindPassword = "", "", ""
	raw, err := json.Marshal(b)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, invalidInput("the connection's settings could not be read: " + err.Error())
	}
	return c.WithSecrets(sec), nil
}

// syncBody is the optional body of POST /connections/{id}/sync.
type syncBody struct {
	Force bool `json:"force,omitempty" doc:"Disable users even when more than half of them seem gone from the directory."`
}

// apiSyncReport says what a directory sync did.
type apiSyncReport struct {
	Read     int `json:"read"`
	Updated  int `json:"updated"`
	Disabled int `json:"disabled"`
}

func (a *API) registerConnections() {
	const base = "/tenants/{tenant}/connections"
	r, w := scopeRead("connections"), scopeWrite("connections")
	a.handle("GET", base, r, a.listConnections)
	a.handle("POST", base, w, a.putConnection)
	a.handle("GET", base+"/{id}", r, a.getConnection)
	a.handle("PATCH", base+"/{id}", w, a.patchConnection)
	a.handle("DELETE", base+"/{id}", w, a.deleteConnection)
	a.handle("POST", base+"/{id}/sync", w, a.syncConnection)

	const tag = "connections"
	a.document("GET", base, opDoc{summary: "List connections in button order", tag: tag, list: true, answer: apiConnection{}})
	a.document("POST", base, opDoc{summary: "Create a connection, or replace the one of that id (201 when created, 200 when replaced)", tag: tag, body: apiConnection{}, status: http.StatusCreated, replace: true, answer: apiConnection{}, etag: true})
	a.document("GET", base+"/{id}", opDoc{summary: "Get a connection", tag: tag, answer: apiConnection{}, etag: true})
	a.document("PATCH", base+"/{id}", opDoc{summary: "Change a connection", tag: tag, body: apiConnection{}, patch: true, answer: apiConnection{}, etag: true})
	a.document("DELETE", base+"/{id}", opDoc{summary: "Delete a connection and unlink the identities linked through it", tag: tag, status: http.StatusNoContent, etag: true})
	a.document("POST", base+"/{id}/sync", opDoc{summary: "Sync the users of an LDAP directory connection now", tag: tag, body: syncBody{}, bodyOpt: true, answer: apiSyncReport{}})
}

// connection loads the path's connection of the path's tenant.
func (a *API) connection(r *http.Request, c *call) (apiConnection, error) {
	if _, err := a.tenantOf(r.Context(), c); err != nil {
		return apiConnection{}, err
	}
	rec, err := a.svc.GetConnection(r.Context(), c.tenant, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return apiConnection{}, problem(http.StatusNotFound, "not-found", "no connection "+r.PathValue("id")+" in tenant "+c.tenant)
	}
	if err != nil {
		return apiConnection{}, err
	}
	return connectionJSON(rec)
}

func (a *API) listConnections(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := a.tenantOf(r.Context(), c); err != nil {
		return err
	}
	recs, err := a.svc.ConnectionRecords(r.Context(), c.tenant)
	if err != nil {
		return err
	}
	out := make([]apiConnection, 0, len(recs))
	for _, rec := range recs {
		cn, err := connectionJSON(rec)
		if err != nil {
			return err
		}
		out = append(out, cn)
	}
	writeJSON(w, http.StatusOK, listBody[apiConnection]{Data: out})
	return nil
}

// writeConnection stores b and answers the stored connection with status.
func (a *API) writeConnection(w http.ResponseWriter, r *http.Request, c *call, b apiConnection, status int) error {
	cfg, err := connectionConfig(b)
	if err != nil {
		return err
	}
	if _, err := a.svc.UpsertConnection(r.Context(), c.tenant, cfg, b.Position, c.actor()); err != nil {
		return connectionProblem(err, cfg.ID)
	}
	rec, err := a.svc.GetConnection(r.Context(), c.tenant, cfg.ID)
	if err != nil {
		return err
	}
	out, err := connectionJSON(rec)
	if err != nil {
		return err
	}
	loc := ""
	if status == http.StatusCreated {
		loc = a.location(c, "connections", out.ID)
	}
	return writeResource(w, status, loc, out)
}

// connectionProblem names the fields of a refused connection as the API spells them: the service
// prefixes each problem with the connection it concerns, for the seed and the CLI.
func connectionProblem(err error, id string) error {
	var ie *InvalidError
	if !errors.As(err, &ie) {
		return err
	}
	out := &InvalidError{cause: err}
	for _, p := range ie.Problems {
		out.Problems = append(out.Problems, strings.TrimPrefix(p, "connection "+id+"."))
	}
	return out
}

func (a *API) putConnection(w http.ResponseWriter, r *http.Request, c *call) error {
	var b apiConnection
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	if strings.TrimSpace(b.ID) == "" {
		return invalidInput("id is required", FieldError{Field: "id", Message: "is required"})
	}
	if _, err := a.tenantOf(r.Context(), c); err != nil {
		return err
	}
	status := http.StatusCreated
	if _, err := a.svc.GetConnection(r.Context(), c.tenant, b.ID); err == nil {
		status = http.StatusOK
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return a.writeConnection(w, r, c, b, status)
}

func (a *API) getConnection(w http.ResponseWriter, r *http.Request, c *call) error {
	cur, err := a.connection(r, c)
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, "", cur)
}

func (a *API) patchConnection(w http.ResponseWriter, r *http.Request, c *call) error {
	cur, err := a.connection(r, c)
	if err != nil {
		return err
	}
	if err := checkIfMatch(r, cur); err != nil {
		return err
	}
	var b apiConnection
	if err := patchInto(r, cur, &b, connectionReadOnly...); err != nil {
		return err
	}
	b.ID, b.Type = cur.ID, cur.Type
	return a.writeConnection(w, r, c, b, http.StatusOK)
}

func (a *API) deleteConnection(w http.ResponseWriter, r *http.Request, c *call) error {
	cur, err := a.connection(r, c)
	if err != nil {
		return err
	}
	if err := checkIfMatch(r, cur); err != nil {
		return err
	}
	if err := a.svc.DeleteConnection(r.Context(), c.tenant, cur.ID, c.actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) syncConnection(w http.ResponseWriter, r *http.Request, c *call) error {
	cur, err := a.connection(r, c)
	if err != nil {
		return err
	}
	var b syncBody
	if r.ContentLength != 0 && r.Header.Get("Content-Type") != "" {
		if err := decodeBody(r, &b); err != nil {
			return err
		}
	}
	rep, err := a.svc.SyncDirectory(r.Context(), c.tenant, cur.ID, SyncOptions{Force: b.Force}, c.actor())
	if errors.Is(err, ErrMassDisable) {
		return problem(http.StatusConflict, "mass-disable", strings.ReplaceAll(err.Error(), "sync with --force", `sync with {"force": true}`))
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiSyncReport{Read: rep.Read, Updated: rep.Updated, Disabled: rep.Disabled})
	return nil
}
