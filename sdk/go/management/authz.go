package management

import (
	"context"
	"net/http"
)

// CheckRequest asks whether a user holds a permission on an API, optionally within an organization.
type CheckRequest struct {
	UserID     string `json:"user_id"`
	Permission string `json:"permission"` // orders:read
	API        string `json:"api"`        // the API's identifier
	OrgID      string `json:"org_id,omitempty"`
}

// CheckResult is the answer of an authorization check.
type CheckResult struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason,omitempty"` // which role or group granted it, or why not
}

// CheckPermission asks UMM whether req's user holds req's permission now, through their roles, groups
// and organization roles; the management token needs umm:authz:check. Use it where the token's claims
// may be stale, or for users other than the caller.
func (c *Client) CheckPermission(ctx context.Context, req CheckRequest) (*CheckResult, error) {
	return call[CheckResult](ctx, c, request{method: http.MethodPost, path: "/authz/check", body: req}, nil)
}
