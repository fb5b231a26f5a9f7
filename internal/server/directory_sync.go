package server

import (
	"context"
	"time"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/federation"
)

// syncCheckInterval is how often the scheduler looks for directory connections whose sync is due.
const syncCheckInterval = time.Minute

// syncDirectories runs the directory sync of every LDAP connection with a sync_interval when it is due,
// until ctx ends. Every node runs the scheduler; the node that moves a connection's synced_at first runs
// that sync, so each runs once per interval across the cluster.
func (s *Server) syncDirectories(ctx context.Context) {
	t := time.NewTicker(syncCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.SyncDirectoriesNow(ctx)
	}
}

// SyncDirectoriesNow runs the directory syncs that are due now (what the scheduler does every minute);
// each failure is logged and the others go on.
func (s *Server) SyncDirectoriesNow(ctx context.Context) {
	tenants, err := s.DB.ListTenants(ctx)
	if err != nil {
		s.log.ErrorContext(ctx, "directory sync: list tenants", "err", err)
		return
	}
	now := s.opts.now()
	for _, t := range tenants {
		rows, err := s.DB.ListConnections(ctx, t.ID)
		if err != nil {
			s.log.ErrorContext(ctx, "directory sync: list connections", "tenant", t.ID, "err", err)
			continue
		}
		for _, row := range rows {
			if row.Type != config.ConnLDAP || row.Disabled {
				continue
			}
			c, err := federation.Decode(s.Keyring, row)
			if err != nil || c.SyncInterval <= 0 || now.Before(row.SyncedAt.Add(c.SyncInterval.D())) {
				continue
			}
			won, err := s.DB.ClaimConnectionSync(ctx, t.ID, row.ID, row.SyncedAt, now)
			if err != nil || !won {
				continue
			}
			rep, err := s.Admin.SyncDirectory(ctx, t.ID, row.ID, admin.SyncOptions{}, events.ActorSystem)
			if err != nil {
				s.log.ErrorContext(ctx, "directory sync failed", "tenant", t.ID, "connection", row.ID, "err", err)
				continue
			}
			s.log.InfoContext(ctx, "directory synced", "tenant", t.ID, "connection", row.ID, "read", rep.Read,
				"updated", rep.Updated, "disabled", rep.Disabled)
		}
	}
}
