package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"
)

// UserNetwork is a network a user signed in from: an IPv4 /24 or an IPv6 /64, with the country and place
// the geo database gave for it at the last sign-in (package risk decides what the rows mean).
type UserNetwork struct {
	TenantID string
	UserID   string
	Network  string // "203.0.113.0/24", "2001:db8:1:2::/64"
	Country  string // ISO 3166-1 alpha-2; "" when unknown
	// Latitude and Longitude are in degrees, kept to the micro-degree; meaningful only with HasLocation.
	Latitude    float64
	Longitude   float64
	HasLocation bool
	FirstSeenAt time.Time
	LastSeenAt  time.Time
}

// NetworkHistory is what a sign-in risk assessment needs to know of a user's past networks, read in one
// statement (NetworkHistory).
type NetworkHistory struct {
	// Any is false for a user who never signed in with the risk engine recording it.
	Any bool
	// KnownNetwork: the network asked about is among the user's rows.
	KnownNetwork bool
	// KnownCountry: a row has the country asked about (never true for an unknown country "").
	KnownCountry bool
	// Last is the newest row: the place of the last sign-in.
	Last UserNetwork
}

// maxUserNetworks bounds the networks remembered per user; the least recently seen go first.
const maxUserNetworks = 50

func toMicro(deg float64) int64 { return int64(math.Round(deg * 1e6)) }

// RecordUserNetwork stores (or refreshes) the network of a successful sign-in and forgets the user's
// least recently seen networks beyond maxUserNetworks. A refresh without a country or place (the geo
// database did not know the address, or is no longer configured) keeps the ones stored; first_seen_at
// never changes.
func (q *queries) RecordUserNetwork(ctx context.Context, n UserNetwork) error {
	var lat, lon sql.NullInt64
	if n.HasLocation {
		lat = sql.NullInt64{Int64: toMicro(n.Latitude), Valid: true}
		lon = sql.NullInt64{Int64: toMicro(n.Longitude), Valid: true}
	}
	first := n.FirstSeenAt
	if first.IsZero() {
		first = n.LastSeenAt
	}
	_, err := q.exec(ctx, `INSERT INTO user_networks (tenant_id, user_id, network, country, latitude_e6, longitude_e6, first_seen_at, last_seen_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, user_id, network) DO UPDATE SET
		country = CASE WHEN excluded.country <> '' THEN excluded.country ELSE user_networks.country END,
		latitude_e6 = COALESCE(excluded.latitude_e6, user_networks.latitude_e6),
		longitude_e6 = COALESCE(excluded.longitude_e6, user_networks.longitude_e6),
		last_seen_at = excluded.last_seen_at`,
		n.TenantID, n.UserID, n.Network, n.Country, lat, lon, first.Unix(), n.LastSeenAt.Unix())
	if err != nil {
		return fmt.Errorf("record user network: %w", err)
	}
	_, err = q.exec(ctx, `DELETE FROM user_networks WHERE tenant_id = ? AND user_id = ? AND network NOT IN (
		SELECT network FROM user_networks WHERE tenant_id = ? AND user_id = ? ORDER BY last_seen_at DESC, network LIMIT ?)`,
		n.TenantID, n.UserID, n.TenantID, n.UserID, maxUserNetworks)
	if err != nil {
		return fmt.Errorf("record user network: trim: %w", err)
	}
	return nil
}

// NetworkHistory answers, in one indexed statement, whether the user has signed in before, from network
// and from country, and where the last sign-in was. country "" is never known.
func (q *queries) NetworkHistory(ctx context.Context, tenantID, userID, network, country string) (NetworkHistory, error) {
	var h NetworkHistory
	var lat, lon sql.NullInt64
	var first, last int64
	var knownNet, knownCountry int
	err := q.row(ctx, `SELECT l.network, l.country, l.latitude_e6, l.longitude_e6, l.first_seen_at, l.last_seen_at,
		(SELECT COUNT(*) FROM user_networks n WHERE n.tenant_id = l.tenant_id AND n.user_id = l.user_id AND n.network = ?),
		(SELECT COUNT(*) FROM user_networks c WHERE c.tenant_id = l.tenant_id AND c.user_id = l.user_id AND c.country = ? AND c.country <> '')
		FROM user_networks l WHERE l.tenant_id = ? AND l.user_id = ? ORDER BY l.last_seen_at DESC, l.network LIMIT 1`,
		network, country, tenantID, userID).Scan(&h.Last.Network, &h.Last.Country, &lat, &lon, &first, &last, &knownNet, &knownCountry)
	if errors.Is(err, sql.ErrNoRows) {
		return NetworkHistory{}, nil
	}
	if err != nil {
		return NetworkHistory{}, fmt.Errorf("network history: %w", err)
	}
	h.Any, h.KnownNetwork, h.KnownCountry = true, knownNet > 0, knownCountry > 0
	h.Last.TenantID, h.Last.UserID = tenantID, userID
	h.Last.FirstSeenAt, h.Last.LastSeenAt = time.Unix(first, 0), time.Unix(last, 0)
	if lat.Valid && lon.Valid {
		h.Last.Latitude, h.Last.Longitude, h.Last.HasLocation = float64(lat.Int64)/1e6, float64(lon.Int64)/1e6, true
	}
	return h, nil
}

// UserNetworks returns the user's networks, most recently seen first.
func (q *queries) UserNetworks(ctx context.Context, tenantID, userID string) ([]UserNetwork, error) {
	rows, err := q.query(ctx, `SELECT network, country, latitude_e6, longitude_e6, first_seen_at, last_seen_at
		FROM user_networks WHERE tenant_id = ? AND user_id = ? ORDER BY last_seen_at DESC, network`, tenantID, userID)
	if err != nil {
		return nil, fmt.Errorf("user networks: %w", err)
	}
	defer rows.Close()
	var out []UserNetwork
	for rows.Next() {
		n := UserNetwork{TenantID: tenantID, UserID: userID}
		var lat, lon sql.NullInt64
		var first, last int64
		if err := rows.Scan(&n.Network, &n.Country, &lat, &lon, &first, &last); err != nil {
			return nil, fmt.Errorf("user networks: %w", err)
		}
		if lat.Valid && lon.Valid {
			n.Latitude, n.Longitude, n.HasLocation = float64(lat.Int64)/1e6, float64(lon.Int64)/1e6, true
		}
		n.FirstSeenAt, n.LastSeenAt = time.Unix(first, 0), time.Unix(last, 0)
		out = append(out, n)
	}
	return out, rows.Err()
}
