package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/federation"
	"github.com/umm-project/umm/internal/store"
)

// UpsertConnection creates connection c of tenantID or replaces the stored one, its secrets sealed, at
// position (the order of the sign-in page's buttons). A secret left empty keeps the stored one, so an
// operator can change a connection's settings without handing its secret again. A domain already routed
// to another connection of the tenant is refused.
func (s *Service) UpsertConnection(ctx context.Context, tenantID string, c config.Connection, position int, actor string) (config.Connection, error) {
	var out config.Connection
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		out, err = s.upsertConnection(ctx, tx, tenantID, c, position, actor)
		return err
	})
	return out, err
}

func (s *Service) upsertConnection(ctx context.Context, tx *store.Tx, tenantID string, c config.Connection, position int, actor string) (config.Connection, error) {
	if _, err := tx.GetTenant(ctx, tenantID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return c, &InvalidError{Problems: []string{fmt.Sprintf("tenant %q does not exist", tenantID)}, cause: err}
		}
		return c, err
	}
	old, err := tx.GetConnection(ctx, tenantID, c.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return c, err
	default:
		prev, err := federation.Decode(s.keyring, old)
		if err != nil {
			return c, err
		}
		sec, prevSec := c.Secrets(), prev.Secrets()
		if sec.ClientSecret == "" {
			sec.ClientSecret = prevSec.ClientSecret
		}
		if sec.PrivateKey == "" {
			sec.PrivateKey = prevSec.PrivateKey
		}
		if sec.BindPassword == "" {
			sec.BindPassword = prevSec.BindPassword
		}
		c = c.WithSecrets(sec)
	}
	if p := c.Validate("connection " + c.ID); len(p) > 0 {
		return c, &InvalidError{Problems: p}
	}
	others, err := tx.ListConnections(ctx, tenantID)
	if err != nil {
		return c, err
	}
	for _, o := range others {
		if o.ID == c.ID {
			continue
		}
		oc, err := federation.Decode(s.keyring, o)
		if err != nil {
			return c, err
		}
		for _, d := range c.Domains {
			if oc.HasDomain(strings.ToLower(d)) {
				return c, &InvalidError{Problems: []string{fmt.Sprintf("connection %s: domain %q is already routed to connection %q", c.ID, d, o.ID)}}
			}
		}
	}
	row, err := federation.Encode(s.keyring, tenantID, position, c)
	if err != nil {
		return c, err
	}
	row.UpdatedAt = s.now()
	if err := tx.UpsertConnection(ctx, row); err != nil {
		return c, err
	}
	return c, tx.AppendEvent(ctx, events.ConnectionUpserted(tenantID, actor, c.ID, c.Type))
}

// ListConnections returns the tenant's connections in button order, secrets unsealed.
func (s *Service) ListConnections(ctx context.Context, tenantID string) ([]config.Connection, error) {
	rows, err := s.db.ListConnections(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]config.Connection, 0, len(rows))
	for _, r := range rows {
		c, err := federation.Decode(s.keyring, r)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// ConnectionRecord is a stored connection: its settings, secrets unsealed, and what the store keeps
// beside them.
type ConnectionRecord struct {
	config.Connection
	Position  int // the place of its button on the sign-in page (0 first)
	CreatedAt time.Time
	UpdatedAt time.Time
	SyncedAt  time.Time // when a directory sync last started; zero: never
}

func (s *Service) connectionRecord(row store.Connection) (ConnectionRecord, error) {
	c, err := federation.Decode(s.keyring, row)
	if err != nil {
		return ConnectionRecord{}, err
	}
	return ConnectionRecord{Connection: c, Position: row.Position, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt, SyncedAt: row.SyncedAt}, nil
}

// ConnectionRecords returns the tenant's connections in button order.
func (s *Service) ConnectionRecords(ctx context.Context, tenantID string) ([]ConnectionRecord, error) {
	rows, err := s.db.ListConnections(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]ConnectionRecord, 0, len(rows))
	for _, r := range rows {
		rec, err := s.connectionRecord(r)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// GetConnection returns one connection of the tenant; an error wrapping store.ErrNotFound when it has none
// of that id.
func (s *Service) GetConnection(ctx context.Context, tenantID, id string) (ConnectionRecord, error) {
	row, err := s.db.GetConnection(ctx, tenantID, id)
	if errors.Is(err, store.ErrNotFound) {
		return ConnectionRecord{}, fmt.Errorf("no connection %q in tenant %s (umm connections list shows them): %w", id, tenantID, store.ErrNotFound)
	}
	if err != nil {
		return ConnectionRecord{}, err
	}
	return s.connectionRecord(row)
}

// DeleteConnection removes a connection and the identities linked through it (their users stay).
func (s *Service) DeleteConnection(ctx context.Context, tenantID, id, actor string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteConnection(ctx, tenantID, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no connection %q in tenant %s (umm connections list shows them): %w", id, tenantID, store.ErrNotFound)
			}
			return err
		}
		return tx.AppendEvent(ctx, events.ConnectionDeleted(tenantID, actor, id))
	})
}

// seedConnection applies one seed connection when its fingerprint changed.
func (s *Service) seedConnection(ctx context.Context, tenantID string, position int, c config.Connection, res *SeedResult) error {
	fp := struct {
		C        config.Connection
		Secrets  config.ConnectionSecrets
		Position int
	}{c, c.Secrets(), position}
	return s.seedItem(ctx, tenantID, "connection", c.ID, fp, res, func(tx *store.Tx) error {
		_, err := s.upsertConnection(ctx, tx, tenantID, c, position, events.ActorSeed)
		return err
	})
}
