package admin

import (
	"net/http"
	"strings"
)

// checkBody is the body of POST /authz/check.
type checkBody struct {
	UserID     string `json:"user_id"`
	Permission string `json:"permission"`
	API        string `json:"api" doc:"The identifier of the API defining the permission."`
	OrgID      string `json:"org_id,omitempty" doc:"Check within this organization: its roles for the member count too."`
}

// apiCheck is the answer of a permission check.
type apiCheck struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason" doc:"Why, in words: the role (and group or organization) granting it, or what is missing."`
}

func (a *API) registerAuthz() {
	a.handle("POST", "/tenants/{tenant}/authz/check", scopeAuthzName, a.checkPermission)
	a.document("POST", "/tenants/{tenant}/authz/check", opDoc{summary: "Whether a user holds a permission of an API, and why", tag: "authz",
		body: checkBody{}, answer: apiCheck{}})
}

func (a *API) checkPermission(w http.ResponseWriter, r *http.Request, c *call) error {
	az, err := a.authzOf(r.Context(), c)
	if err != nil {
		return err
	}
	var b checkBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	var fields []FieldError
	for _, f := range []struct{ name, v string }{{"user_id", b.UserID}, {"permission", b.Permission}, {"api", b.API}} {
		if strings.TrimSpace(f.v) == "" {
			fields = append(fields, FieldError{Field: f.name, Message: "is required"})
		}
	}
	if len(fields) > 0 {
		return invalidInput("the check misses fields", fields...)
	}
	ok, reason, err := az.Check(r.Context(), c.tenant, b.UserID, b.Permission, b.API, b.OrgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiCheck{Allowed: ok, Reason: reason})
	return nil
}
