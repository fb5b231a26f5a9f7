package identity

import (
	"context"
	"fmt"
	"time"

	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// UpstreamFlowTTL is how long a browser may stay upstream (signing in there, perhaps with MFA) and how
// long the page asking to prove an existing account waits.
const UpstreamFlowTTL = 15 * time.Minute

// StartFlow stores a new pending flow of kind for this browser with its state data; userID and email
// name the account involved, when one is.
func (s *Service) StartFlow(ctx context.Context, tenantID, kind string, browserHash []byte, lrID, userID, email, data string) (store.Flow, error) {
	now := s.now()
	f := store.Flow{TenantID: tenantID, ID: keys.NewID(), Kind: kind, State: store.FlowPending, UserID: userID, Email: email,
		BrowserHash: browserHash, LoginRequestID: lrID, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(UpstreamFlowTTL), Data: data}
	if err := s.db.CreateFlow(ctx, f); err != nil {
		return f, fmt.Errorf("start %s flow: %w", kind, err)
	}
	return f, nil
}
