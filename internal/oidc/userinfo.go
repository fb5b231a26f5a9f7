package oidc

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// handleUserInfo is the UserInfo endpoint (OIDC Core §5.3), GET and POST, protected by an access token
// sent as a Bearer token (RFC 6750 §2.1) or, in a POST, as the form field access_token (§2.2). It returns
// the claims the token's scopes release (userClaims). Errors follow RFC 6750 §3.
func (p *Provider) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	web.NoStore(w)
	t, ok := p.tenantOrJSON(w, r)
	if !ok {
		return
	}
	claims, err := p.userInfo(r, t)
	if err != nil {
		p.writeBearerError(w, r, t, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, claims)
}

// errNoToken marks a request without any access token: RFC 6750 §3.1 answers it without an error code.
func errNoToken() *Error {
	return &Error{Code: "", Description: "an access token is required", Status: http.StatusUnauthorized}
}

// userInfo authenticates the request and returns its claims.
func (p *Provider) userInfo(r *http.Request, t store.Tenant) (map[string]any, error) {
	token, err := bearerToken(r)
	if err != nil {
		return nil, err
	}
	ac, err := p.verifyAccessToken(r.Context(), t, token)
	if err != nil {
		return nil, err
	}
	scopes := ac.Scopes()
	if !slices.Contains(scopes, scopeOpenID) {
		return nil, &Error{Code: "insufficient_scope", Status: http.StatusForbidden,
			Description: "the access token was not granted the openid scope"}
	}
	user, err := p.db.GetUser(r.Context(), t.ID, ac.Subject)
	if errors.Is(err, store.ErrNotFound) || (err == nil && user.Disabled) {
		return nil, errInvalidToken(err, "the user of this access token is no longer active")
	}
	if err != nil {
		return nil, fmt.Errorf("userinfo: %w", err)
	}
	return userClaims(user, scopes, t.Settings.Profile), nil
}

// bearerToken reads the access token from the Authorization header or, in a form-encoded POST, the
// access_token field. Using both, or either twice, is invalid_request (RFC 6750 §2).
func bearerToken(r *http.Request) (string, error) {
	var header string
	if hs := r.Header.Values("Authorization"); len(hs) > 1 {
		return "", errInvalidRequest("send the Authorization header once")
	} else if len(hs) == 1 {
		scheme, tok, found := strings.Cut(hs[0], " ")
		if !found || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			return "", errInvalidRequest("the Authorization header must be: Bearer <access token>")
		}
		header = strings.TrimSpace(tok)
	}
	var form string
	if r.Method == http.MethodPost {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct == "application/x-www-form-urlencoded" {
			if err := r.ParseForm(); err != nil {
				return "", errInvalidRequest("the request body is malformed")
			}
			switch vs := r.PostForm["access_token"]; {
			case len(vs) > 1:
				return "", errInvalidRequest("access_token appears more than once")
			case len(vs) == 1:
				form = vs[0]
			}
		}
	}
	switch {
	case header != "" && form != "":
		return "", errInvalidRequest("send the access token in one place only")
	case header != "":
		return header, nil
	case form != "":
		return form, nil
	}
	return "", errNoToken()
}

// writeBearerError is the one error writer of Bearer-protected endpoints (UserInfo): the status, a
// WWW-Authenticate challenge (RFC 6750 §3) and a JSON body. Errors other than *Error are server_error.
func (p *Provider) writeBearerError(w http.ResponseWriter, r *http.Request, t store.Tenant, err error) {
	var oe *Error
	if !errors.As(err, &oe) || oe.Status >= 500 {
		p.writeJSONServerError(w, r, "userinfo", t.ID, err)
		return
	}
	challenge := `Bearer realm="` + p.issuer(t.ID) + `"`
	if oe.Code != "" {
		p.log.InfoContext(r.Context(), "userinfo request rejected", "tenant", t.ID, "code", oe.Code, "err", oe.cause,
			"request_id", web.RequestIDFrom(r.Context()))
		challenge += `, error="` + oe.Code + `", error_description="` + errorDescription(oe.Description) + `"`
		if oe.Code == "insufficient_scope" {
			challenge += `, scope="openid"`
		}
	}
	w.Header().Set("WWW-Authenticate", challenge)
	if oe.Code == "" {
		w.WriteHeader(oe.Status)
		return
	}
	web.WriteJSON(w, oe.Status, map[string]string{"error": oe.Code, "error_description": errorDescription(oe.Description)})
}
