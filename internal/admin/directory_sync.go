package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/federation"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/store"
)

// SyncReport says what a directory sync did.
type SyncReport struct {
	Read     int // linked users looked up in the directory
	Updated  int // users whose profile, roles or identity were refreshed
	Disabled int // users disabled because their entry is gone
}

// SyncOptions adjust a directory sync.
type SyncOptions struct {
	// Force disables users even when more than half of them seem gone (normally a sign that the
	// connection's base_dn or user_filter changed, not that the people left).
	Force bool
}

// ErrMassDisable is the refusal to disable most users of a directory at once.
var ErrMassDisable = errors.New("more than half of the directory's users seem gone")

// SyncDirectory brings the users linked through directory connection id in step with the directory:
// each entry still there refreshes the user's mapped profile and roles; a user whose entry is gone (or no
// longer matches the user filter) is disabled, which ends their sessions. A directory that cannot be
// read stops the sync before anything changes, so an outage never disables anyone. The run appends
// connection.synced.
func (s *Service) SyncDirectory(ctx context.Context, tenantID, id string, opt SyncOptions, actor string) (SyncReport, error) {
	var rep SyncReport
	if s.federation == nil {
		return rep, errors.New("directory sync: no federation service")
	}
	t, err := s.db.GetTenant(ctx, tenantID)
	if err != nil {
		return rep, fmt.Errorf("directory sync: %w", err)
	}
	conn, err := s.federation.Connector(ctx, tenantID, id)
	if errors.Is(err, federation.ErrNotFound) {
		return rep, fmt.Errorf("no enabled connection %q in tenant %s (umm connections list shows them): %w", id, tenantID, store.ErrNotFound)
	}
	if err != nil {
		return rep, err
	}
	dir, ok := conn.Impl.(federation.Directory)
	if !ok {
		return rep, &InvalidError{Problems: []string{fmt.Sprintf("connection %s is of type %s: only LDAP directories can be synced", id, conn.Config.Type)}}
	}
	ids, err := s.db.ListConnectionIdentities(ctx, tenantID, id)
	if err != nil {
		return rep, err
	}
	// Read everything first: a directory that fails half-way changes nothing.
	type result struct {
		ui    store.UserIdentity
		who   federation.Identity
		found bool
	}
	results := make([]result, 0, len(ids))
	gone := 0
	for _, ui := range ids {
		who, found, err := dir.Lookup(ctx, ui.Subject)
		if err != nil {
			return rep, fmt.Errorf("directory sync of %s: %w", id, err)
		}
		if !found {
			gone++
		}
		results = append(results, result{ui, who, found})
	}
	rep.Read = len(results)
	if !opt.Force && gone >= 5 && gone*2 > len(results) {
		return rep, fmt.Errorf("directory sync of %s: %w (%d of %d): check base_dn and user_filter, or sync with --force", id,
			ErrMassDisable, gone, len(results))
	}
	for _, res := range results {
		if !res.found {
			u, err := s.db.GetUser(ctx, tenantID, res.ui.UserID)
			if err != nil {
				return rep, err
			}
			if u.Disabled {
				continue
			}
			if err := s.identity.SetDisabled(ctx, tenantID, u.ID, true, actor); err != nil {
				return rep, err
			}
			rep.Disabled++
			continue
		}
		claims, _ := json.Marshal(res.who.Claims)
		up := identity.Upstream{Connection: id, Subject: res.ui.Subject, Email: res.who.Email, EmailVerified: res.who.EmailVerified,
			Profile: res.who.Profile, Claims: string(claims)}
		up.Roles, up.Managed = conn.Config.MapRoles(res.who.Groups)
		if _, err := s.identity.RefreshFederated(ctx, t, res.ui.UserID, up, true); err != nil {
			return rep, err
		}
		rep.Updated++
	}
	err = s.db.AppendEvent(ctx, events.DirectorySynced(tenantID, actor, id, rep.Read, rep.Updated, rep.Disabled))
	return rep, err
}
