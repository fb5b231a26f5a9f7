package risk

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/umm-project/umm/internal/store"
)

// RecordFailure counts a failed sign-in from ip on any account of the tenant (the ip_failures signal).
// The count starts again after a failure-free ip_failures_window of the global policy; it never locks
// anything: refusing is the level's business, and identity's budgets do the throttling.
func (e *Engine) RecordFailure(ctx context.Context, tenantID, ip string, now time.Time) error {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return fmt.Errorf("risk: client address %q: %w", ip, err)
	}
	addr = addr.Unmap().WithZone("")
	window := e.policy.IPFailuresWindow.D()
	if _, err := e.db.AddAccountFailure(ctx, tenantID, failureKey(addr), now, now.Add(-window), math.MaxInt32, time.Time{}); err != nil {
		return fmt.Errorf("risk: %w", err)
	}
	return nil
}

// RecordSuccess remembers the network of a successful sign-in of userID from ip, with its country and
// place when the geo database knows them, in the caller's transaction (beside the session and its
// events); tx nil writes at once. The network then counts as known, and this place as the last one.
func (e *Engine) RecordSuccess(ctx context.Context, tx *store.Tx, tenantID, userID, ip string, now time.Time) error {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return fmt.Errorf("risk: client address %q: %w", ip, err)
	}
	addr = addr.Unmap().WithZone("")
	pl := e.lookup(addr)
	n := store.UserNetwork{TenantID: tenantID, UserID: userID, Network: networkOf(addr), Country: pl.country,
		Latitude: pl.lat, Longitude: pl.lon, HasLocation: pl.hasLocation, FirstSeenAt: now, LastSeenAt: now}
	if tx != nil {
		err = tx.RecordUserNetwork(ctx, n)
	} else {
		err = e.db.RecordUserNetwork(ctx, n)
	}
	if err != nil {
		return fmt.Errorf("risk: %w", err)
	}
	return nil
}
