package store

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// UserSearch filters and orders a page of users. Empty fields do not filter.
type UserSearch struct {
	// Email: a whole address matches that address; anything else matches addresses starting with it.
	Email string
	// Name matches users whose given or family name starts with it (case-insensitive).
	Name string
	// AttrKey and AttrValue match users whose profile value AttrKey (a standard claim or custom field) is
	// AttrValue, compared as text.
	AttrKey, AttrValue string
	Role               string // users holding this role directly
	Status             string // "active" or "blocked"
	// InSet, when set, keeps users whose id the subquery returns; its arguments follow. The authorization
	// model filters by organization this way without the store knowing its tables here.
	InSet     string
	InSetArgs []any
	// Sort is "id" (default), "email" or "created_at"; AfterKey/AfterID continue after the last item of
	// the previous page (AfterKey is the sort value, empty when sorting by id).
	Sort              string
	AfterKey, AfterID string
	Limit             int
}

var attrKeyPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)

// ValidAttrKey reports whether k can name a profile value in a search.
func ValidAttrKey(k string) bool { return attrKeyPattern.MatchString(k) }

// SearchUsers returns up to s.Limit users matching s in its order, with their roles.
func (q *queries) SearchUsers(ctx context.Context, tenantID string, s UserSearch) ([]User, error) {
	if s.Limit <= 0 || s.Limit > 1000 {
		s.Limit = 100
	}
	where := []string{"tenant_id = ?"}
	args := []any{tenantID}
	if e := strings.ToLower(strings.TrimSpace(s.Email)); e != "" {
		if strings.Contains(e, "@") && !strings.HasSuffix(e, "@") {
			where, args = append(where, "email_norm = ?"), append(args, e)
		} else {
			where, args = append(where, "email_norm >= ? AND email_norm < ?"), append(args, e, e+"\U0010FFFF")
		}
	}
	if n := strings.ToLower(strings.TrimSpace(s.Name)); n != "" {
		where = append(where, "((lower(given_name) >= ? AND lower(given_name) < ?) OR (lower(family_name) >= ? AND lower(family_name) < ?))")
		args = append(args, n, n+"\U0010FFFF", n, n+"\U0010FFFF")
	}
	if s.AttrKey != "" {
		if !ValidAttrKey(s.AttrKey) {
			return nil, fmt.Errorf("search users: attribute name %q: %w", s.AttrKey, ErrNotFound)
		}
		if q.pg {
			where = append(where, "(COALESCE(attributes::jsonb ->> ?, claims::jsonb ->> ?) = ?)")
			args = append(args, s.AttrKey, s.AttrKey, s.AttrValue)
		} else {
			path := `$."` + s.AttrKey + `"`
			where = append(where, "(CAST(COALESCE(json_extract(attributes, ?), json_extract(claims, ?)) AS TEXT) = ?)")
			args = append(args, path, path, s.AttrValue)
		}
	}
	if s.Role != "" {
		where = append(where, "id IN (SELECT user_id FROM user_roles WHERE tenant_id = ? AND role = ?)")
		args = append(args, tenantID, s.Role)
	}
	switch s.Status {
	case "active":
		where = append(where, "disabled = ?")
		args = append(args, false)
	case "blocked":
		where = append(where, "disabled = ?")
		args = append(args, true)
	}
	if s.InSet != "" {
		where = append(where, "id IN ("+s.InSet+")")
		args = append(args, s.InSetArgs...)
	}
	order := "id"
	switch s.Sort {
	case "email":
		order = "email_norm, id"
		if s.AfterID != "" {
			where, args = append(where, "(email_norm > ? OR (email_norm = ? AND id > ?))"), append(args, s.AfterKey, s.AfterKey, s.AfterID)
		}
	case "created_at":
		order = "created_at, id"
		if s.AfterID != "" {
			at, _ := strconv.ParseInt(s.AfterKey, 10, 64)
			where, args = append(where, "(created_at > ? OR (created_at = ? AND id > ?))"), append(args, at, at, s.AfterID)
		}
	default:
		if s.AfterID != "" {
			where, args = append(where, "id > ?"), append(args, s.AfterID)
		}
	}
	rows, err := q.query(ctx, `SELECT `+userReadCols+` FROM users WHERE `+strings.Join(where, " AND ")+
		` ORDER BY `+order+` LIMIT ?`, append(args, s.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("search users: %w", err)
	}
	us, err := scanUsers(rows)
	if err != nil {
		return nil, fmt.Errorf("search users: %w", err)
	}
	if len(us) == 0 {
		return us, nil
	}
	if err := q.fillRoles(ctx, tenantID, us); err != nil {
		return nil, err
	}
	return us, nil
}

// fillRoles sets the roles of the listed users in one query.
func (q *queries) fillRoles(ctx context.Context, tenantID string, us []User) error {
	ph := strings.Repeat("?, ", len(us))
	args := []any{tenantID}
	for _, u := range us {
		args = append(args, u.ID)
	}
	rows, err := q.query(ctx, `SELECT user_id, role FROM user_roles WHERE tenant_id = ? AND user_id IN (`+ph[:len(ph)-2]+`)
		ORDER BY user_id, role`, args...)
	if err != nil {
		return fmt.Errorf("user roles: %w", err)
	}
	defer rows.Close()
	roles := map[string][]string{}
	for rows.Next() {
		var u, r string
		if err := rows.Scan(&u, &r); err != nil {
			return fmt.Errorf("user roles: %w", err)
		}
		roles[u] = append(roles[u], r)
	}
	for i := range us {
		us[i].Roles = roles[us[i].ID]
	}
	return rows.Err()
}
