package management

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// SigningKey is one of the tenant's token signing keys: the next one (published ahead), the current
// one, or a retired one still published until the tokens it signed expire.
type SigningKey struct {
	KeyID       string          `json:"kid"`
	Alg         string          `json:"alg"`    // RS256, ES256
	Status      string          `json:"status"` // next, current, retired
	CreatedAt   time.Time       `json:"created_at,omitzero"`
	ActivatedAt time.Time       `json:"activated_at,omitzero"`
	RetiredAt   time.Time       `json:"retired_at,omitzero"`
	PublicJWK   json.RawMessage `json:"public_jwk,omitempty"`
}

// ListKeys returns the tenant's signing keys.
func (c *Client) ListKeys(ctx context.Context) ([]SigningKey, error) {
	p, err := list[SigningKey](ctx, c, "/keys", nil)
	if err != nil {
		return nil, err
	}
	return p.Data, nil
}

// RotateKeys makes the next keys current and publishes new next ones.
func (c *Client) RotateKeys(ctx context.Context) error {
	return c.exec(ctx, request{method: http.MethodPost, path: "/keys/rotate"}, nil)
}
