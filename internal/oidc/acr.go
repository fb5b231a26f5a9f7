package oidc

import (
	"encoding/json"
	"slices"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/session"
	"github.com/umm-project/umm/internal/store"
)

// maxClaimsLen bounds the claims request parameter.
const maxClaimsLen = 4096

// claimRequest is one member of a claims request (OIDC Core §5.5.1): null, or an object with essential,
// value or values.
type claimRequest struct {
	Essential bool     `json:"essential"`
	Value     *string  `json:"value"`
	Values    []string `json:"values"`
}

// parseClaimsACR reads the acr member of the claims request parameter (id_token or userinfo): the
// classes asked for, and whether they are essential. Other members are voluntary; UMM releases claims
// by scope and leaves them be.
func parseClaimsACR(s string) (values []string, essential bool, err error) {
	if len(s) > maxClaimsLen {
		return nil, false, errInvalidRequest("claims is longer than 4096 characters")
	}
	var req map[string]map[string]*claimRequest
	if json.Unmarshal([]byte(s), &req) != nil {
		return nil, false, errInvalidRequest("claims must be a JSON object with id_token or userinfo members (OIDC Core 5.5)")
	}
	for _, member := range []string{"id_token", "userinfo"} {
		c := req[member]["acr"]
		if c == nil {
			continue
		}
		vs := c.Values
		if c.Value != nil {
			vs = append(vs, *c.Value)
		}
		for _, v := range vs {
			if !slices.Contains(values, v) {
				values = append(values, v)
			}
		}
		essential = essential || c.Essential
	}
	if len(values) == 0 {
		essential = false // an essential acr without values asks for nothing in particular
	}
	return values, essential, nil
}

// wantedACR is the strongest supported class among values ("" when none is supported).
func wantedACR(values []string) string {
	want := ""
	for _, v := range values {
		if session.ACRRank(v) > session.ACRRank(want) {
			want = v
		}
	}
	return want
}

// sessionStrongEnough reports whether session sess meets what a request to client asks: the class the
// request wants and, under an MFA policy of required (the client's own or the tenant's), two factors.
// When it does not, the hosted pages step the session up.
func sessionStrongEnough(t store.Tenant, client store.Client, sess store.Session, acrValues []string) bool {
	if want := wantedACR(acrValues); want != "" && !session.Satisfies(sess.ACR, want) {
		return false
	}
	policy := client.MFAPolicy
	if policy == "" {
		policy = t.Settings.MFA.PolicyOr()
	}
	if policy == config.MFARequired && !session.Satisfies(sess.ACR, session.ACRTwoFactors) {
		return false
	}
	return true
}
