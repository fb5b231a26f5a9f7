package admin

import (
	"errors"
	"net/http"
	"strings"

	"github.com/umm-project/umm/internal/store"
)

// apiConsent is what one user allowed one client.
type apiConsent struct {
	UserID    string   `json:"user_id"`
	ClientID  string   `json:"client_id"`
	Scopes    []string `json:"scopes"`
	CreatedAt string   `json:"created_at"`
	UpdatedAt string   `json:"updated_at"`
}

func (a *API) registerConsents() {
	const base = "/tenants/{tenant}/consents"
	a.handle("GET", base, scopeRead("consents"), a.listConsents)
	a.handle("DELETE", base+"/{user_id}/{client_id}", scopeWrite("consents"), a.revokeConsent)

	const tag = "consents"
	a.document("GET", base, opDoc{summary: "List consents, of a user or for a client", tag: tag, list: true, answer: apiConsent{}, query: append([]paramDoc{
		{name: "user_id", desc: "The consents of this user."},
		{name: "client_id", desc: "The consents given to this client."},
	}, pageParams...)})
	a.document("DELETE", base+"/{user_id}/{client_id}", opDoc{summary: "Revoke a user's consent for a client and every grant of that user to it", tag: tag, status: http.StatusNoContent})
}

func (a *API) listConsents(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	if _, err := a.tenantOf(r.Context(), c); err != nil {
		return err
	}
	q := store.ConsentQuery{UserID: r.URL.Query().Get("user_id"), ClientID: r.URL.Query().Get("client_id"), Limit: p.limit + 1}
	if p.after != "" {
		q.AfterUser, q.AfterClient, _ = strings.Cut(p.after, "\x00")
	}
	cs, err := a.db.SearchConsents(r.Context(), c.tenant, q)
	if err != nil {
		return err
	}
	out := make([]apiConsent, 0, len(cs))
	for _, cn := range cs {
		out = append(out, apiConsent{UserID: cn.UserID, ClientID: cn.ClientID, Scopes: strs(cn.Scopes),
			CreatedAt: timeJSON(cn.CreatedAt), UpdatedAt: timeJSON(cn.UpdatedAt)})
	}
	writeList(w, p, out, func(cn apiConsent) string { return cn.UserID + "\x00" + cn.ClientID })
	return nil
}

func (a *API) revokeConsent(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := a.tenantOf(r.Context(), c); err != nil {
		return err
	}
	userID, clientID := r.PathValue("user_id"), r.PathValue("client_id")
	err := a.svc.identity.RevokeConsent(r.Context(), c.tenant, userID, clientID, c.actor())
	if errors.Is(err, store.ErrNotFound) {
		return problem(http.StatusNotFound, "not-found", "user "+userID+" has neither a consent nor a grant for client "+clientID)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
