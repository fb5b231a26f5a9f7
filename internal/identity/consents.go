package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
)

// Consent returns the scopes the user has allowed the client, sorted, or nil when there is no consent.
func (s *Service) Consent(ctx context.Context, tenantID, userID, clientID string) ([]string, error) {
	c, err := s.db.GetConsent(ctx, tenantID, userID, clientID, false)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return c.Scopes, nil
}

// ConsentCovers reports whether the user's stored consent for the client includes every scope of scopes.
func (s *Service) ConsentCovers(ctx context.Context, tenantID, userID, clientID string, scopes []string) (bool, error) {
	granted, err := s.Consent(ctx, tenantID, userID, clientID)
	if err != nil {
		return false, err
	}
	for _, sc := range scopes {
		if !slices.Contains(granted, sc) {
			return false, nil
		}
	}
	return true, nil
}

// GrantConsent adds scopes to what the user has allowed the client (the stored set is the union of every
// grant) inside the caller's transaction, with a consent.granted event carrying the merged set. When the
// stored consent already covers scopes nothing is written.
func (s *Service) GrantConsent(ctx context.Context, tx *store.Tx, tenantID, userID, clientID string, scopes []string) error {
	cur, err := tx.GetConsent(ctx, tenantID, userID, clientID, true)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("grant consent: %w", err)
	}
	merged := slices.Concat(cur.Scopes, scopes)
	slices.Sort(merged)
	merged = slices.Compact(merged)
	merged = slices.DeleteFunc(merged, func(s string) bool { return s == "" })
	if exists && slices.Equal(merged, cur.Scopes) {
		return nil
	}
	now := s.now()
	if err := tx.UpsertConsent(ctx, store.Consent{TenantID: tenantID, UserID: userID, ClientID: clientID, Scopes: merged,
		UpdatedAt: now}); err != nil {
		return fmt.Errorf("grant consent: %w", err)
	}
	if err := tx.AppendEvent(ctx, at(events.ConsentGranted(tenantID, userID, clientID, merged), now)); err != nil {
		return fmt.Errorf("grant consent: %w", err)
	}
	return nil
}

// RevokeConsent withdraws the user's consent for the client and revokes every grant of that user for that
// client (its refresh tokens and access tokens stop working), with consent.revoked and one grant.revoked
// event per grant. When there was neither a consent nor a live grant it returns store.ErrNotFound.
func (s *Service) RevokeConsent(ctx context.Context, tenantID, userID, clientID, actor string) error {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		now := s.now()
		delErr := tx.DeleteConsent(ctx, tenantID, userID, clientID)
		if delErr != nil && !errors.Is(delErr, store.ErrNotFound) {
			return delErr
		}
		gs, err := tx.RevokeGrantsByUser(ctx, tenantID, userID, clientID, now)
		if err != nil {
			return err
		}
		if delErr != nil && len(gs) == 0 {
			return delErr
		}
		for _, g := range gs {
			if err := tx.AppendEvent(ctx, at(events.GrantRevoked(tenantID, userID, clientID, g.ID, actor, "consent_revoked"), now)); err != nil {
				return err
			}
		}
		return tx.AppendEvent(ctx, at(events.ConsentRevoked(tenantID, userID, clientID, actor), now))
	})
	if err != nil {
		return fmt.Errorf("revoke consent: %w", err)
	}
	return nil
}

// ListConsents returns the user's consents ordered by client id.
func (s *Service) ListConsents(ctx context.Context, tenantID, userID string) ([]store.Consent, error) {
	return s.db.ListConsents(ctx, tenantID, userID)
}
