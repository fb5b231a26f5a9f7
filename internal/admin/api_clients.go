package admin

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/store"
)

// apiClient is a client as the API shows it: never its secret nor the secret's hash.
type apiClient struct {
	ClientID                          string   `json:"client_id"`
	Name                              string   `json:"name"`
	RedirectURIs                      []string `json:"redirect_uris"`
	PostLogoutRedirectURIs            []string `json:"post_logout_redirect_uris"`
	GrantTypes                        []string `json:"grant_types"`
	TokenEndpointAuthMethod           string   `json:"token_endpoint_auth_method"`
	Scopes                            []string `json:"scopes"`
	FirstParty                        bool     `json:"first_party"`
	AllowedOrigins                    []string `json:"allowed_origins"`
	MFAPolicy                         string   `json:"mfa_policy"`
	JWKSURI                           string   `json:"jwks_uri"`
	IDTokenAlg                        string   `json:"id_token_signed_response_alg"`
	BackchannelLogoutURI              string   `json:"backchannel_logout_uri"`
	BackchannelLogoutSessionRequired  bool     `json:"backchannel_logout_session_required"`
	FrontchannelLogoutURI             string   `json:"frontchannel_logout_uri"`
	FrontchannelLogoutSessionRequired bool     `json:"frontchannel_logout_session_required"`
	CreatedAt                         string   `json:"created_at"`
	UpdatedAt                         string   `json:"updated_at"`
}

// strs answers a list as [] rather than null.
func strs(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func clientJSON(c store.Client) apiClient {
	return apiClient{
		ClientID: c.ClientID, Name: c.Name, RedirectURIs: strs(c.RedirectURIs), PostLogoutRedirectURIs: strs(c.PostLogoutRedirectURIs),
		GrantTypes: strs(c.GrantTypes), TokenEndpointAuthMethod: c.TokenEndpointAuthMethod, Scopes: strs(c.Scopes),
		FirstParty: c.FirstParty, AllowedOrigins: strs(c.AllowedOrigins), MFAPolicy: c.MFAPolicy, JWKSURI: c.JWKSURI,
		IDTokenAlg: c.IDTokenAlg, BackchannelLogoutURI: c.BackchannelLogoutURI, BackchannelLogoutSessionRequired: c.BackchannelLogoutSessionRequired,
		FrontchannelLogoutURI: c.FrontchannelLogoutURI, FrontchannelLogoutSessionRequired: c.FrontchannelLogoutSessionRequired,
		CreatedAt: timeJSON(c.CreatedAt), UpdatedAt: timeJSON(c.UpdatedAt),
	}
}

// createClientBody is the body of POST /clients. A client authenticating with a secret gets a generated
// one, answered once.
type createClientBody struct {
	ClientID                          string   `json:"client_id"`
	Name                              string   `json:"name,omitempty"`
	RedirectURIs                      []string `json:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs            []string `json:"post_logout_redirect_uris,omitempty"`
	GrantTypes                        []string `json:"grant_types,omitempty" doc:"Default: authorization_code and refresh_token, or client_credentials for a confidential client without redirect URIs."`
	TokenEndpointAuthMethod           string   `json:"token_endpoint_auth_method,omitempty" doc:"client_secret_basic (default), client_secret_post, private_key_jwt or none (a public client)."`
	Scopes                            []string `json:"scopes,omitempty"`
	FirstParty                        bool     `json:"first_party,omitempty"`
	AllowedOrigins                    []string `json:"allowed_origins,omitempty"`
	MFAPolicy                         string   `json:"mfa_policy,omitempty"`
	JWKS                              string   `json:"jwks,omitempty" doc:"An inline JWK Set (JSON text) of a private_key_jwt client."`
	JWKSURI                           string   `json:"jwks_uri,omitempty"`
	IDTokenAlg                        string   `json:"id_token_signed_response_alg,omitempty"`
	BackchannelLogoutURI              string   `json:"backchannel_logout_uri,omitempty"`
	BackchannelLogoutSessionRequired  bool     `json:"backchannel_logout_session_required,omitempty"`
	FrontchannelLogoutURI             string   `json:"frontchannel_logout_uri,omitempty"`
	FrontchannelLogoutSessionRequired bool     `json:"frontchannel_logout_session_required,omitempty"`
}

// createdClient is the answer of POST /clients: the client, and its secret this once.
type createdClient struct {
	apiClient
	ClientSecret string `json:"client_secret,omitempty" doc:"The generated secret, answered only here: store it now."`
}

// rotateSecretBody is the optional body of POST /clients/{id}/rotate-secret.
type rotateSecretBody struct {
	GraceSeconds int64 `json:"grace_seconds,omitempty" doc:"How long the previous secret keeps working, in seconds (default 0: it stops at once; at most 30 days)."`
}

// secretBody answers a new secret.
type secretBody struct {
	ClientSecret string `json:"client_secret"`
}

func (a *API) registerClients() {
	const base = "/tenants/{tenant}/clients"
	r, w := scopeRead("clients"), scopeWrite("clients")
	a.handle("GET", base, r, a.listClients)
	a.handle("POST", base, w, a.createClient)
	a.handle("GET", base+"/{id}", r, a.getClient)
	a.handle("PATCH", base+"/{id}", w, a.patchClient)
	a.handle("DELETE", base+"/{id}", w, a.deleteClient)
	a.handle("POST", base+"/{id}/rotate-secret", w, a.rotateClientSecret)

	const tag = "clients"
	a.document("GET", base, opDoc{summary: "List clients", tag: tag, list: true, answer: apiClient{}, query: pageParams})
	a.document("POST", base, opDoc{summary: "Register a client (its generated secret is answered once)", tag: tag, body: createClientBody{}, status: http.StatusCreated, answer: createdClient{}, etag: true})
	a.document("GET", base+"/{id}", opDoc{summary: "Get a client", tag: tag, answer: apiClient{}, etag: true})
	a.document("PATCH", base+"/{id}", opDoc{summary: "Change a client", tag: tag, body: apiClient{}, patch: true, answer: apiClient{}, etag: true})
	a.document("DELETE", base+"/{id}", opDoc{summary: "Delete a client and revoke everything issued to it", tag: tag, status: http.StatusNoContent, etag: true})
	a.document("POST", base+"/{id}/rotate-secret", opDoc{summary: "Give the client a new generated secret (answered once)", tag: tag, body: rotateSecretBody{}, bodyOpt: true, answer: secretBody{}})
}

// beyondCaller reports the management scopes among scopes that the calling token does not hold. A
// caller giving them to a client, or taking over a client that holds them (with its new secret), would
// raise its own power: a token with umm:clients:write could otherwise make itself umm:admin.
func (c *call) beyondCaller(scopes []string) []int {
	if slices.Contains(c.principal.scopes, ScopeAdmin) {
		return nil
	}
	var out []int
	for i, s := range scopes {
		if strings.HasPrefix(s, scopePrefix) && !slices.Contains(c.principal.scopes, s) {
			out = append(out, i)
		}
	}
	return out
}

// refuseEscalation is the 403 of a write that would give a client management scopes the caller lacks.
func refuseEscalation(scopes []string, beyond []int) error {
	fields := make([]FieldError, 0, len(beyond))
	for _, i := range beyond {
		fields = append(fields, FieldError{Field: fmt.Sprintf("scopes[%d]", i), Message: scopes[i] + " is not held by the calling token: only a caller holding a management scope may give it"})
	}
	return problem(http.StatusForbidden, "insufficient-scope", "a client may give other clients only the management scopes its own token holds", fields...)
}

// client loads the path's client of the path's tenant.
func (a *API) client(r *http.Request, c *call) (store.Client, error) {
	if _, err := a.tenantOf(r.Context(), c); err != nil {
		return store.Client{}, err
	}
	cl, err := a.svc.GetClient(r.Context(), c.tenant, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return cl, problem(http.StatusNotFound, "not-found", "no client "+r.PathValue("id")+" in tenant "+c.tenant)
	}
	return cl, err
}

func (a *API) listClients(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	cs, err := a.svc.ListClients(r.Context(), c.tenant)
	if err != nil {
		return err
	}
	out := make([]apiClient, 0, p.limit+1)
	for _, cl := range cs { // ordered by client id
		if cl.ClientID > p.after && len(out) <= p.limit {
			out = append(out, clientJSON(cl))
		}
	}
	writeList(w, p, out, func(cl apiClient) string { return cl.ClientID })
	return nil
}

func (a *API) createClient(w http.ResponseWriter, r *http.Request, c *call) error {
	var b createClientBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	if strings.TrimSpace(b.ClientID) == "" {
		return invalidInput("client_id is required", FieldError{Field: "client_id", Message: "is required"})
	}
	if beyond := c.beyondCaller(b.Scopes); len(beyond) > 0 {
		return refuseEscalation(b.Scopes, beyond)
	}
	cl, secret, err := a.svc.CreateClient(r.Context(), c.tenant, ClientInput{
		ClientID: b.ClientID, Name: b.Name, RedirectURIs: b.RedirectURIs, PostLogoutRedirectURIs: b.PostLogoutRedirectURIs,
		GrantTypes: b.GrantTypes, Scopes: b.Scopes, TokenEndpointAuthMethod: b.TokenEndpointAuthMethod, FirstParty: b.FirstParty,
		JWKS: b.JWKS, JWKSURI: b.JWKSURI, IDTokenAlg: b.IDTokenAlg, AllowedOrigins: b.AllowedOrigins, MFAPolicy: b.MFAPolicy,
		BackchannelLogoutURI: b.BackchannelLogoutURI, BackchannelLogoutSessionRequired: b.BackchannelLogoutSessionRequired,
		FrontchannelLogoutURI: b.FrontchannelLogoutURI, FrontchannelLogoutSessionRequired: b.FrontchannelLogoutSessionRequired,
	}, c.actor())
	if err != nil {
		return err
	}
	// The ETag is the client's (what GET answers), not that of this answer with its one-time secret.
	tag, err := etagOf(clientJSON(cl))
	if err != nil {
		return err
	}
	w.Header().Set("ETag", tag)
	w.Header().Set("Location", a.location(c, "clients", cl.ClientID))
	writeJSON(w, http.StatusCreated, createdClient{apiClient: clientJSON(cl), ClientSecret: string(secret)})
	return nil
}

func (a *API) getClient(w http.ResponseWriter, r *http.Request, c *call) error {
	cl, err := a.client(r, c)
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, "", clientJSON(cl))
}

func (a *API) patchClient(w http.ResponseWriter, r *http.Request, c *call) error {
	cl, err := a.client(r, c)
	if err != nil {
		return err
	}
	cur := clientJSON(cl)
	if err := checkIfMatch(r, cur); err != nil {
		return err
	}
	var b apiClient
	// The auth method decides which credentials a client has: changing it means registering a new client.
	if err := patchInto(r, cur, &b, "client_id", "token_endpoint_auth_method", "created_at", "updated_at"); err != nil {
		return err
	}
	if beyond := c.beyondCaller(b.Scopes); len(beyond) > 0 {
		var added []int // scopes the client holds already were given by someone allowed to
		for _, i := range beyond {
			if !slices.Contains(cur.Scopes, b.Scopes[i]) {
				added = append(added, i)
			}
		}
		if len(added) > 0 {
			return refuseEscalation(b.Scopes, added)
		}
	}
	cl, err = a.svc.UpdateClient(r.Context(), c.tenant, cl.ClientID, ClientPatch{
		Name: &b.Name, RedirectURIs: &b.RedirectURIs, PostLogoutRedirectURIs: &b.PostLogoutRedirectURIs,
		GrantTypes: &b.GrantTypes, Scopes: &b.Scopes, FirstParty: &b.FirstParty, JWKSURI: &b.JWKSURI,
		IDTokenAlg: &b.IDTokenAlg, AllowedOrigins: &b.AllowedOrigins, MFAPolicy: &b.MFAPolicy,
		BackchannelLogoutURI: &b.BackchannelLogoutURI, BackchannelLogoutSessionRequired: &b.BackchannelLogoutSessionRequired,
		FrontchannelLogoutURI: &b.FrontchannelLogoutURI, FrontchannelLogoutSessionRequired: &b.FrontchannelLogoutSessionRequired,
	}, c.actor())
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, "", clientJSON(cl))
}

func (a *API) deleteClient(w http.ResponseWriter, r *http.Request, c *call) error {
	cl, err := a.client(r, c)
	if err != nil {
		return err
	}
	if err := checkIfMatch(r, clientJSON(cl)); err != nil {
		return err
	}
	if err := a.svc.DeleteClient(r.Context(), c.tenant, cl.ClientID, c.actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) rotateClientSecret(w http.ResponseWriter, r *http.Request, c *call) error {
	cl, err := a.client(r, c)
	if err != nil {
		return err
	}
	if beyond := c.beyondCaller(cl.Scopes); len(beyond) > 0 {
		return problem(http.StatusForbidden, "insufficient-scope", "client "+cl.ClientID+" holds management scopes the calling token does not (such as "+
			cl.Scopes[beyond[0]]+"): only a caller holding them may take its new secret")
	}
	var b rotateSecretBody
	if r.ContentLength != 0 && r.Header.Get("Content-Type") != "" {
		if err := decodeBody(r, &b); err != nil {
			return err
		}
	}
	if b.GraceSeconds < 0 || time.Duration(b.GraceSeconds)*time.Second > MaxSecretGrace {
		return invalidInput("grace_seconds is out of range", FieldError{Field: "grace_seconds", Message: "must be from 0 to " + itoa(int(MaxSecretGrace/time.Second))})
	}
	secret, err := a.svc.RotateClientSecret(r.Context(), c.tenant, cl.ClientID, time.Duration(b.GraceSeconds)*time.Second, c.actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, secretBody{ClientSecret: string(secret)})
	return nil
}
