package admin

import (
	"encoding/json"
	"net/http"
)

// apiKey is a signing key as the API shows it: its public half only.
type apiKey struct {
	KID         string         `json:"kid"`
	Alg         string         `json:"alg"`
	Status      string         `json:"status" doc:"current (signs), next (published ahead of signing) or retired (still verifies)."`
	CreatedAt   string         `json:"created_at"`
	ActivatedAt string         `json:"activated_at,omitempty"`
	RetiredAt   string         `json:"retired_at,omitempty"`
	PublicJWK   map[string]any `json:"public_jwk"`
}

func (a *API) registerKeys() {
	const base = "/tenants/{tenant}/keys"
	r, w := scopeRead("keys"), scopeWrite("keys")
	a.handle("GET", base, r, a.listKeys)
	a.handle("POST", base+"/rotate", w, a.rotateKeys)
	a.handle("POST", base+"/{kid}/revoke", w, a.revokeKey)

	const tag = "keys"
	a.document("GET", base, opDoc{summary: "The tenant's signing keys", tag: tag, list: true, answer: apiKey{}})
	a.document("POST", base+"/rotate", opDoc{summary: "Rotate the signing keys now: each next key starts signing (answers the new list)", tag: tag, list: true, answer: apiKey{}})
	a.document("POST", base+"/{kid}/revoke", opDoc{summary: "Revoke a key: it leaves the JWKS and the tokens it signed stop verifying (answers the new list)", tag: tag, list: true, answer: apiKey{}})
}

// answerKeys answers the tenant's keys, creating a new tenant's first keys as the JWKS does.
func (a *API) answerKeys(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := a.keys.JWKS(r.Context(), c.tenant); err != nil {
		return err
	}
	rows, err := a.db.ListSigningKeys(r.Context(), c.tenant)
	if err != nil {
		return err
	}
	out := make([]apiKey, 0, len(rows))
	for _, k := range rows {
		var jwk map[string]any
		if err := json.Unmarshal([]byte(k.PublicJWK), &jwk); err != nil {
			return err
		}
		out = append(out, apiKey{KID: k.KeyID, Alg: k.Alg, Status: k.Status, CreatedAt: timeJSON(k.CreatedAt),
			ActivatedAt: timeJSON(k.ActivatedAt), RetiredAt: timeJSON(k.RetiredAt), PublicJWK: jwk})
	}
	writeJSON(w, http.StatusOK, listBody[apiKey]{Data: out})
	return nil
}

func (a *API) listKeys(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := a.tenantOf(r.Context(), c); err != nil {
		return err
	}
	return a.answerKeys(w, r, c)
}

func (a *API) rotateKeys(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := a.tenantOf(r.Context(), c); err != nil {
		return err
	}
	if err := a.keys.RotateBy(r.Context(), c.tenant, c.actor()); err != nil {
		return err
	}
	return a.answerKeys(w, r, c)
}

func (a *API) revokeKey(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := a.tenantOf(r.Context(), c); err != nil {
		return err
	}
	if _, err := a.keys.Revoke(r.Context(), c.tenant, r.PathValue("kid"), c.actor()); err != nil {
		return err
	}
	return a.answerKeys(w, r, c)
}
