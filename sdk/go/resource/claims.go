package resource

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Claims are the claims of a validated access token, as UMM issues them (RFC 9068 §2.2 plus the
// authorization claims an API asks for).
type Claims struct {
	Issuer   string
	Subject  string // the user id, or the client id for a client_credentials token
	ClientID string
	Audience []string
	JTI      string

	Scopes      []string // the scope claim, split on spaces
	Permissions []string // the permissions claim, when the API asks for it
	Roles       []string
	Groups      []string
	OrgID       string
	OrgRoles    []string

	IssuedAt  time.Time
	ExpiresAt time.Time
	NotBefore time.Time // zero when the token has no nbf
	AuthTime  time.Time // zero when the token has no auth_time
	ACR       string
	AMR       []string
	SessionID string

	// ConfirmationJKT is cnf.jkt (RFC 9449 §6.1): the thumbprint of the key a DPoP-bound token is bound to.
	// Only set when Config.AllowDPoP is, and then the caller verifies the DPoP proof against it.
	ConfirmationJKT string

	// Raw holds every claim of the token as decoded JSON (numbers as json.Number).
	Raw map[string]any
}

// HasScope reports whether s is one of the token's scopes.
func (c *Claims) HasScope(s string) bool { return slices.Contains(c.Scopes, s) }

// HasPermission reports whether the token grants permission p, through its permissions claim or its scope
// (UMM puts granted permissions in both when the API asks for the permissions claim, and in scope always).
func (c *Claims) HasPermission(p string) bool {
	return slices.Contains(c.Permissions, p) || slices.Contains(c.Scopes, p)
}

// HasRole reports whether the token names role r in its roles claim.
func (c *Claims) HasRole(r string) bool { return slices.Contains(c.Roles, r) }

type claimsKey struct{}

// validated is what the middleware puts in a request's context: the claims, and the validator that
// checked them, so that Require of another validator (another API, another tenant) does not take them
// for its own.
type validated struct {
	by     *Validator
	claims *Claims
}

// ClaimsFrom returns the claims the middleware put in ctx, and whether there were any.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	v, ok := ctx.Value(claimsKey{}).(validated)
	return v.claims, ok && v.claims != nil
}

// WithClaims returns a copy of ctx carrying c, for tests of handlers that read ClaimsFrom. Require does
// not trust claims put there this way: it validates the request's token itself.
func WithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, validated{claims: c})
}

// claimsValidatedBy returns the claims in ctx if v validated them.
func claimsValidatedBy(ctx context.Context, v *Validator) (*Claims, bool) {
	got, ok := ctx.Value(claimsKey{}).(validated)
	return got.claims, ok && got.by == v && got.claims != nil
}

// wireClaims is the JSON shape of the claims the validator reads.
type wireClaims struct {
	Issuer      string      `json:"iss"`
	Subject     string      `json:"sub"`
	Audience    audience    `json:"aud"`
	ClientID    string      `json:"client_id"`
	Scope       string      `json:"scope"`
	JTI         string      `json:"jti"`
	IssuedAt    numericDate `json:"iat"`
	ExpiresAt   numericDate `json:"exp"`
	NotBefore   numericDate `json:"nbf"`
	AuthTime    numericDate `json:"auth_time"`
	ACR         string      `json:"acr"`
	AMR         []string    `json:"amr"`
	SessionID   string      `json:"sid"`
	Permissions []string    `json:"permissions"`
	Roles       []string    `json:"roles"`
	Groups      []string    `json:"groups"`
	OrgID       string      `json:"org_id"`
	OrgRoles    []string    `json:"org_roles"`
	Cnf         *struct {
		JKT string `json:"jkt"`
	} `json:"cnf"`
}

func (w *wireClaims) claims(raw map[string]any) *Claims {
	c := &Claims{
		Issuer: w.Issuer, Subject: w.Subject, ClientID: w.ClientID, Audience: w.Audience, JTI: w.JTI,
		Scopes: strings.Fields(w.Scope), Permissions: w.Permissions, Roles: w.Roles, Groups: w.Groups,
		OrgID: w.OrgID, OrgRoles: w.OrgRoles, IssuedAt: w.IssuedAt.time(), ExpiresAt: w.ExpiresAt.time(),
		NotBefore: w.NotBefore.time(), AuthTime: w.AuthTime.time(), ACR: w.ACR, AMR: w.AMR,
		SessionID: w.SessionID, Raw: raw,
	}
	if w.Cnf != nil {
		c.ConfirmationJKT = w.Cnf.JKT
	}
	return c
}

// audience is the aud claim: one string or an array of strings (RFC 7519 §4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// numericDate is a JWT NumericDate (RFC 7519 §2): seconds since the epoch, possibly fractional.
// The zero value means absent.
type numericDate struct {
	set  bool
	secs float64
}

func (d *numericDate) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if err := json.Unmarshal(b, &d.secs); err != nil {
		return err
	}
	d.set = true
	return nil
}

func (d numericDate) time() time.Time {
	if !d.set {
		return time.Time{}
	}
	sec := int64(d.secs)
	return time.Unix(sec, int64((d.secs-float64(sec))*1e9)).UTC()
}
