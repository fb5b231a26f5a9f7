package server

import (
	"context"
	"time"
)

// gcRetention is how long expired rows are kept before garbage collection deletes them. Codes stay an
// hour past expiry so a late replay is still recognised as one.
const (
	codeRetention     = time.Hour
	throttleRetention = 24 * time.Hour
	// webhookLogRetention is how long a finished webhook delivery stays in its subscription's log.
	webhookLogRetention = 30 * 24 * time.Hour
)

// collectGarbage deletes expired flow state every gcInterval until ctx ends: login requests, self-service
// flows, self-registered accounts left unverified, codes,
// device codes, sessions (and the clients recorded for them), grants with their refresh tokens,
// revoked-token records, client assertion ids, stale throttles, expired known devices, webhook deliveries
// finished 30 days ago, events older than events.retention (in batches) and invitations that ended
// before that. Every node may run it: the deletes are idempotent.
func (s *Server) collectGarbage(ctx context.Context) {
	t := time.NewTicker(s.opts.gcInterval)
	defer t.Stop()
	for {
		s.collectOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// collectOnce runs one pass; each failure is logged and the pass goes on.
func (s *Server) collectOnce(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	now := s.opts.now()
	// A counter is kept while it may still count: past its lockout and past the account-wide window (a hard
	// lock is never stale; DeleteStaleThrottles keeps it).
	throttleCut := now.Add(-max(throttleRetention, 2*s.cfg.Security.AccountLockoutDuration.D(),
		s.cfg.Security.AccountFailureWindow.D()))
	steps := []struct {
		what string
		fn   func(context.Context, time.Time) (int64, error)
		at   time.Time
	}{
		{"login_requests", s.DB.DeleteExpiredLoginRequests, now},
		{"flows", s.DB.DeleteExpiredFlows, now},
		{"unverified_users", s.deleteUnverified, now},
		{"authorization_codes", s.DB.DeleteExpiredAuthCodes, now.Add(-codeRetention)},
		{"device_codes", s.DB.DeleteExpiredDeviceCodes, now},
		{"sessions", s.DB.DeleteExpiredSessions, now},
		{"grants", s.DB.DeleteExpiredGrants, now},
		{"revoked_tokens", s.DB.DeleteExpiredRevokedTokens, now},
		{"client_assertion_jtis", s.DB.DeleteExpiredClientAssertionJTIs, now},
		{"used_assertions", s.DB.DeleteExpiredAssertions, now},
		{"idempotency_keys", s.DB.DeleteExpiredIdempotencyKeys, now},
		{"throttles", s.DB.DeleteStaleThrottles, throttleCut},
		{"known_devices", s.DB.DeleteExpiredKnownDevices, now},
		{"session_clients", s.DB.DeleteOrphanSessionClients, now},
		{"webhook_deliveries", s.DB.DeleteFinishedWebhookDeliveries, now.Add(-webhookLogRetention)},
		{"events", s.pruneEvents, now.Add(-s.cfg.Events.Retention.D())},
		// An invitation lives as long as the events that tell its story.
		{"invitations", s.DB.DeleteEndedInvitations, now.Add(-s.cfg.Events.Retention.D())},
		// keys.retain_retired exceeds every token lifetime (config.Validate).
		{"client_tombstones", s.DB.DeleteOldClientTombstones, now.Add(-s.cfg.Keys.RetainRetired.D())},
	}
	for _, st := range steps {
		n, err := st.fn(ctx, st.at)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.log.ErrorContext(ctx, "garbage collection", "table", st.what, "err", err)
		case n > 0:
			s.log.DebugContext(ctx, "garbage collected", "table", st.what, "rows", n)
		}
	}
}

// unverifiedBatch bounds how many unverified accounts of one tenant one pass deletes.
const unverifiedBatch = 500

// deleteUnverified deletes, in every tenant, the self-registered accounts that never verified their
// address within the tenant's registration.unverified_retention (identity.Service.DeleteUnverified).
func (s *Server) deleteUnverified(ctx context.Context, now time.Time) (int64, error) {
	ts, err := s.DB.ListTenants(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, t := range ts {
		n, err := s.Identity.DeleteUnverified(ctx, t, now, unverifiedBatch)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// eventPruneBatch is how many events one statement deletes: small enough that no statement holds the
// table for long, so a backlog of millions is worked off without stalling the writers.
const eventPruneBatch = 5000

// pruneEvents deletes the events created before before, a batch at a time, until a batch comes back short.
func (s *Server) pruneEvents(ctx context.Context, before time.Time) (int64, error) {
	batch := s.opts.eventBatch
	if batch <= 0 {
		batch = eventPruneBatch
	}
	var total int64
	for ctx.Err() == nil {
		n, err := s.DB.DeleteEventsBefore(ctx, before, batch)
		total += n
		if err != nil || n < int64(batch) {
			return total, err
		}
	}
	return total, ctx.Err()
}
