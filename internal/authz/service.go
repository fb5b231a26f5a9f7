package authz

import (
	"context"
	"fmt"
	"time"

	"github.com/umm-project/umm/internal/store"
)

// Deps is what the service needs; server builds it.
type Deps struct {
	DB  *store.DB
	Now func() time.Time // the clock; time.Now when nil
}

// Service manages the authorization model. It is safe for concurrent use.
type Service struct {
	db  *store.DB
	now func() time.Time
}

// New builds the service.
func New(d Deps) *Service {
	s := &Service{db: d.DB, now: d.Now}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// checkRoles adds a problem for each of roles that is not a role of the tenant.
func checkRoles(ctx context.Context, tx *store.Tx, tenantID, field string, roles []string, p *problems) error {
	missing, err := tx.MissingRoles(ctx, tenantID, roles)
	if err != nil {
		return err
	}
	for i, r := range roles {
		for _, m := range missing {
			if r == m {
				p.add(fmt.Sprintf("%s[%d]", field, i), "%q is not a role of this tenant: create it first", r)
			}
		}
	}
	return nil
}

// checkUser returns a NotFoundError when the user does not exist.
func checkUser(ctx context.Context, tx *store.Tx, tenantID, userID string) error {
	if _, err := tx.GetUser(ctx, tenantID, userID); err != nil {
		return notFound(err, "user", userID)
	}
	return nil
}

// dedupe returns v without repeated values, in first-seen order.
func dedupe(v []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range v {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
