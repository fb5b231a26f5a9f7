package store

import (
	"context"
	"fmt"
	"time"
)

// User is an account of a tenant. Email is kept as the user typed it; EmailNorm is its normalised form
// (NFKC + case folding, computed by package identity) and is unique per tenant.
type User struct {
	TenantID      string
	ID            string
	Email         string
	EmailNorm     string
	EmailVerified bool
	GivenName     string
	FamilyName    string
	Disabled      bool
	Roles         []string // sorted; filled by GetUser, GetUserByEmail and ListUsers
	Profile       Profile  // standard claims beyond the names, and custom attributes (users_profile.go)
	// SignIns counts the sessions started for the user (CountSignIn); ProfileSkips maps a profile field the
	// user skipped on the complete-profile page to SignIns at the skip (users_sign_ins.go). Neither is
	// written by CreateUser or UpdateUser.
	SignIns      int
	ProfileSkips map[string]int
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

const userCols = `tenant_id, id, email, email_norm, email_verified, given_name, family_name, disabled, created_at, updated_at,
	claims, attributes`

// userReadCols are userCols and the columns written by their own methods (users_sign_ins.go).
const userReadCols = userCols + `, sign_ins, profile_skips`

// CreateUser inserts u (CreatedAt/UpdatedAt default to now); a duplicate id or EmailNorm is ErrConflict.
// Roles are not written here: use SetUserRoles.
func (q *queries) CreateUser(ctx context.Context, u User) error {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now()
	}
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	_, err := q.exec(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.TenantID, u.ID, u.Email, u.EmailNorm, u.EmailVerified, u.GivenName, u.FamilyName, u.Disabled,
		u.CreatedAt.Unix(), u.UpdatedAt.Unix(), jsonObject(u.Profile.Claims), jsonObject(u.Profile.Attributes))
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// UpdateUser replaces the profile fields of u (email, email_norm, email_verified, names, Profile) and sets
// updated_at; ErrNotFound when absent, ErrConflict when the new EmailNorm is taken.
func (q *queries) UpdateUser(ctx context.Context, u User) error {
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = time.Now()
	}
	err := q.execOne(ctx, `UPDATE users SET email = ?, email_norm = ?, email_verified = ?, given_name = ?, family_name = ?,
		updated_at = ?, claims = ?, attributes = ? WHERE tenant_id = ? AND id = ?`,
		u.Email, u.EmailNorm, u.EmailVerified, u.GivenName, u.FamilyName, u.UpdatedAt.Unix(),
		jsonObject(u.Profile.Claims), jsonObject(u.Profile.Attributes), u.TenantID, u.ID)
	if err != nil {
		return fmt.Errorf("update user %s: %w", u.ID, err)
	}
	return nil
}

// SetUserDisabled turns the disabled flag on or off; ErrNotFound when absent.
func (q *queries) SetUserDisabled(ctx context.Context, tenantID, userID string, disabled bool, at time.Time) error {
	err := q.execOne(ctx, `UPDATE users SET disabled = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
		disabled, at.Unix(), tenantID, userID)
	if err != nil {
		return fmt.Errorf("set user %s disabled: %w", userID, err)
	}
	return nil
}

// DeleteUser removes the user; its password, roles, sessions and consents go with it (foreign keys
// cascade), and so does everything issued to it: grants, refresh tokens, codes, device codes, login
// requests (cascade.go), and the outbox messages still waiting for it (email). ErrNotFound when absent.
func (q *queries) DeleteUser(ctx context.Context, tenantID, userID string) error {
	if err := q.deleteUserIssued(ctx, tenantID, userID); err != nil {
		return err
	}
	// An empty id is no user, and the messages to other systems carry an empty one.
	if userID != "" {
		if _, err := q.exec(ctx, `DELETE FROM outbox WHERE tenant_id = ? AND user_id = ?`, tenantID, userID); err != nil {
			return fmt.Errorf("delete user %s: outbox: %w", userID, err)
		}
	}
	// Delete the dependants explicitly too, so the result does not depend on SQLite's foreign_keys pragma.
	for _, table := range []string{"password_credentials", "password_history", "user_roles", "consent_grants",
		"mfa_factors", "recovery_codes", "known_devices", "user_networks", "user_identities", "group_members",
		"organization_member_roles", "organization_members"} {
		if _, err := q.exec(ctx, `DELETE FROM `+table+` WHERE tenant_id = ? AND user_id = ?`, tenantID, userID); err != nil {
			return fmt.Errorf("delete user %s: %s: %w", userID, table, err)
		}
	}
	if _, err := q.exec(ctx, `DELETE FROM session_clients WHERE tenant_id = ? AND session_id IN
		(SELECT id FROM sessions WHERE tenant_id = ? AND user_id = ?)`, tenantID, tenantID, userID); err != nil {
		return fmt.Errorf("delete user %s: session clients: %w", userID, err)
	}
	if _, err := q.exec(ctx, `DELETE FROM sessions WHERE tenant_id = ? AND user_id = ?`, tenantID, userID); err != nil {
		return fmt.Errorf("delete user %s: sessions: %w", userID, err)
	}
	if err := q.execOne(ctx, `DELETE FROM users WHERE tenant_id = ? AND id = ?`, tenantID, userID); err != nil {
		return fmt.Errorf("delete user %s: %w", userID, err)
	}
	return nil
}

// GetUser returns the user with its roles, or ErrNotFound.
func (q *queries) GetUser(ctx context.Context, tenantID, userID string) (User, error) {
	return q.getUser(ctx, `WHERE tenant_id = ? AND id = ?`, tenantID, userID)
}

// GetUserByEmail returns the user whose normalised email is emailNorm, or ErrNotFound.
func (q *queries) GetUserByEmail(ctx context.Context, tenantID, emailNorm string) (User, error) {
	return q.getUser(ctx, `WHERE tenant_id = ? AND email_norm = ?`, tenantID, emailNorm)
}

func (q *queries) getUser(ctx context.Context, where string, tenantID, v string) (User, error) {
	rows, err := q.query(ctx, `SELECT `+userReadCols+` FROM users `+where, tenantID, v)
	if err != nil {
		return User{}, fmt.Errorf("get user: %w", err)
	}
	us, err := scanUsers(rows)
	if err != nil {
		return User{}, fmt.Errorf("get user: %w", err)
	}
	if len(us) == 0 {
		return User{}, fmt.Errorf("get user: %w", ErrNotFound)
	}
	u := us[0]
	if u.Roles, err = q.UserRoles(ctx, tenantID, u.ID); err != nil {
		return User{}, err
	}
	return u, nil
}

// ListUsers returns up to limit users with id > after, ordered by id (keyset pagination), with their roles.
func (q *queries) ListUsers(ctx context.Context, tenantID, after string, limit int) ([]User, error) {
	return q.SearchUsers(ctx, tenantID, UserSearch{AfterID: after, Limit: limit})
}

func scanUsers(rows interface {
	Next() bool
	Scan(...any) error
	Close() error
	Err() error
}) ([]User, error) {
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		var created, updated int64
		var claims, attributes, skips string
		if err := rows.Scan(&u.TenantID, &u.ID, &u.Email, &u.EmailNorm, &u.EmailVerified, &u.GivenName, &u.FamilyName,
			&u.Disabled, &created, &updated, &claims, &attributes, &u.SignIns, &skips); err != nil {
			return nil, err
		}
		var err error
		if u.Profile, err = parseProfile(claims, attributes); err != nil {
			return nil, err
		}
		if u.ProfileSkips, err = parseSkips(skips); err != nil {
			return nil, err
		}
		u.CreatedAt, u.UpdatedAt = time.Unix(created, 0), time.Unix(updated, 0)
		out = append(out, u)
	}
	return out, rows.Err()
}

// GetPasswordHash returns the user's PHC password hash, or ErrNotFound when the user has no password.
func (q *queries) GetPasswordHash(ctx context.Context, tenantID, userID string) (string, error) {
	var h string
	err := q.row(ctx, `SELECT hash FROM password_credentials WHERE tenant_id = ? AND user_id = ?`, tenantID, userID).Scan(&h)
	if err != nil {
		return "", fmt.Errorf("get password: %w", scanErr(err))
	}
	return h, nil
}

// HasPassword reports whether the user has a password (without reading its hash).
func (q *queries) HasPassword(ctx context.Context, tenantID, userID string) (bool, error) {
	_, err := q.GetPasswordHash(ctx, tenantID, userID)
	if isNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// SetPasswordHash stores (or replaces) the user's PHC password hash.
func (q *queries) SetPasswordHash(ctx context.Context, tenantID, userID, hash string, at time.Time) error {
	_, err := q.exec(ctx, `INSERT INTO password_credentials (tenant_id, user_id, hash, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id, user_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at`,
		tenantID, userID, hash, at.Unix())
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

// DeletePasswordHash removes the user's password (a passwordless account); no error when there was none.
func (q *queries) DeletePasswordHash(ctx context.Context, tenantID, userID string) error {
	if _, err := q.exec(ctx, `DELETE FROM password_credentials WHERE tenant_id = ? AND user_id = ?`, tenantID, userID); err != nil {
		return fmt.Errorf("delete password: %w", err)
	}
	return nil
}
