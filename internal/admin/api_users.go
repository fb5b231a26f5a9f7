package admin

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// apiUser is a user as the API shows it.
type apiUser struct {
	ID            string         `json:"id"`
	Email         string         `json:"email"`
	EmailVerified bool           `json:"email_verified"`
	GivenName     string         `json:"given_name"`
	FamilyName    string         `json:"family_name"`
	Status        string         `json:"status"`
	Attributes    map[string]any `json:"attributes"`
	Roles         []string       `json:"roles"`
	CreatedAt     string         `json:"created_at"`
	UpdatedAt     string         `json:"updated_at"`
}

// userPatchBody is what PATCH may change; roles change through PUT /users/{id}/roles.
type userPatchBody struct {
	Email         string         `json:"email"`
	EmailVerified bool           `json:"email_verified"`
	GivenName     string         `json:"given_name"`
	FamilyName    string         `json:"family_name"`
	Status        string         `json:"status"`
	Attributes    map[string]any `json:"attributes"`
	Roles         []string       `json:"roles"`
}

// Statuses of a user.
const (
	statusActive  = "active"
	statusBlocked = "blocked"
)

func userJSON(u store.User) apiUser {
	attrs := map[string]any{}
	maps.Copy(attrs, u.Profile.Claims)
	maps.Copy(attrs, u.Profile.Attributes)
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	status := statusActive
	if u.Disabled {
		status = statusBlocked
	}
	return apiUser{
		ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, GivenName: u.GivenName, FamilyName: u.FamilyName,
		Status: status, Attributes: attrs, Roles: roles, CreatedAt: timeJSON(u.CreatedAt), UpdatedAt: timeJSON(u.UpdatedAt),
	}
}

func (a *API) registerUsers() {
	const base = "/tenants/{tenant}/users"
	r, w := scopeRead("users"), scopeWrite("users")
	a.handle("GET", base, r, a.listUsers)
	a.handle("POST", base, w, a.createUser)
	a.handle("GET", base+"/{id}", r, a.getUser)
	a.handle("PATCH", base+"/{id}", w, a.patchUser)
	a.handle("DELETE", base+"/{id}", w, a.deleteUser)
	a.handle("GET", base+"/{id}/roles", r, a.getUserRoles)
	a.handle("PUT", base+"/{id}/roles", w, a.putUserRoles)
	a.handle("PUT", base+"/{id}/password", w, a.setUserPassword)
	a.handle("POST", base+"/{id}/block", w, a.blockUser)
	a.handle("POST", base+"/{id}/unblock", w, a.unblockUser)
	a.handle("GET", base+"/{id}/sessions", r, a.listUserSessions)
	a.handle("DELETE", base+"/{id}/sessions", w, a.endUserSessions)
	a.handle("DELETE", base+"/{id}/sessions/{sid}", w, a.endUserSession)
	a.handle("GET", base+"/{id}/factors", r, a.listUserFactors)
	a.handle("DELETE", base+"/{id}/factors/{factor}", w, a.deleteUserFactor)
	a.handle("GET", base+"/{id}/identities", r, a.listUserIdentities)
	a.handle("DELETE", base+"/{id}/identities/{connection}/{subject}", w, a.unlinkUserIdentity)

	const tag = "users"
	a.document("GET", base, opDoc{summary: "Search users", tag: tag, list: true, answer: apiUser{}, query: append([]paramDoc{
		{name: "email", desc: "A whole address, or the beginning of addresses."},
		{name: "name", desc: "The beginning of a given or family name (case-insensitive)."},
		{name: "attribute", desc: "name:value of a profile value, such as department:sales."},
		{name: "role", desc: "Users holding this role directly."},
		{name: "org", desc: "Members of this organization (its id)."},
		{name: "status", enum: []string{statusActive, statusBlocked}},
		{name: "sort", enum: []string{"id", "email", "created_at"}},
	}, pageParams...)})
	a.document("POST", base, opDoc{summary: "Create a user", tag: tag, body: createUserBody{}, status: http.StatusCreated, answer: apiUser{}, etag: true})
	a.document("GET", base+"/{id}", opDoc{summary: "Get a user", tag: tag, answer: apiUser{}, etag: true})
	a.document("PATCH", base+"/{id}", opDoc{summary: "Change a user (status blocked blocks it)", tag: tag, body: apiUser{}, patch: true, answer: apiUser{}, etag: true})
	a.document("DELETE", base+"/{id}", opDoc{summary: "Delete a user", tag: tag, status: http.StatusNoContent, etag: true})
	a.document("GET", base+"/{id}/roles", opDoc{summary: "The user's direct roles", tag: tag, answer: rolesBody{}, etag: true})
	a.document("PUT", base+"/{id}/roles", opDoc{summary: "Set the user's direct roles (the full list)", tag: tag, body: rolesBody{}, answer: rolesBody{}, etag: true})
	a.document("PUT", base+"/{id}/password", opDoc{summary: "Set the user's password", tag: tag, body: passwordBody{}, status: http.StatusNoContent})
	a.document("POST", base+"/{id}/block", opDoc{summary: "Block the user (ends its sessions and grants)", tag: tag, answer: apiUser{}, etag: true})
	a.document("POST", base+"/{id}/unblock", opDoc{summary: "Unblock the user", tag: tag, answer: apiUser{}, etag: true})
	a.document("GET", base+"/{id}/sessions", opDoc{summary: "The user's active sessions", tag: tag, list: true, answer: apiSession{}})
	a.document("DELETE", base+"/{id}/sessions", opDoc{summary: "End all the user's sessions", tag: tag, status: http.StatusNoContent})
	a.document("DELETE", base+"/{id}/sessions/{sid}", opDoc{summary: "End one session", tag: tag, status: http.StatusNoContent})
	a.document("GET", base+"/{id}/factors", opDoc{summary: "The user's second factors and passkeys", tag: tag, list: true, answer: apiFactor{}})
	a.document("DELETE", base+"/{id}/factors/{factor}", opDoc{summary: "Remove a factor", tag: tag, status: http.StatusNoContent})
	a.document("GET", base+"/{id}/identities", opDoc{summary: "The user's linked upstream identities", tag: tag, list: true, answer: apiIdentity{}})
	a.document("DELETE", base+"/{id}/identities/{connection}/{subject}", opDoc{summary: "Unlink an upstream identity", tag: tag, status: http.StatusNoContent})
}

// user loads the path's user of the path's tenant.
func (a *API) user(ctx context.Context, r *http.Request, c *call) (store.User, error) {
	if _, err := a.tenantOf(ctx, c); err != nil {
		return store.User{}, err
	}
	u, err := a.svc.identity.GetUser(ctx, c.tenant, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return u, problem(http.StatusNotFound, "not-found", "no user "+r.PathValue("id")+" in tenant "+c.tenant)
	}
	return u, err
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	if _, err := a.tenantOf(r.Context(), c); err != nil {
		return err
	}
	q := r.URL.Query()
	s := store.UserSearch{Email: q.Get("email"), Name: q.Get("name"), Role: q.Get("role"), Status: q.Get("status"),
		Sort: q.Get("sort"), Limit: p.limit + 1}
	var fields []FieldError
	if s.Status != "" && s.Status != statusActive && s.Status != statusBlocked {
		fields = append(fields, FieldError{Field: "status", Message: "must be active or blocked"})
	}
	if s.Sort != "" && s.Sort != "id" && s.Sort != "email" && s.Sort != "created_at" {
		fields = append(fields, FieldError{Field: "sort", Message: "must be id, email or created_at"})
	}
	if at := q.Get("attribute"); at != "" {
		k, v, ok := strings.Cut(at, ":")
		if !ok || !store.ValidAttrKey(k) {
			fields = append(fields, FieldError{Field: "attribute", Message: "must be name:value, such as attribute=department:sales"})
		}
		s.AttrKey, s.AttrValue = k, v
	}
	if org := q.Get("org"); org != "" {
		if _, err := a.svc.Authz().GetOrganization(r.Context(), c.tenant, org); errors.Is(err, store.ErrNotFound) {
			fields = append(fields, FieldError{Field: "org", Message: "is not the id of an organization of this tenant"})
		} else if err != nil {
			return err
		}
		s.InSet, s.InSetArgs = "SELECT user_id FROM organization_members WHERE tenant_id = ? AND org_id = ?", []any{c.tenant, org}
	}
	if len(fields) > 0 {
		return invalidInput("the search has parameters to fix", fields...)
	}
	if p.after != "" {
		s.AfterKey, s.AfterID, _ = strings.Cut(p.after, "\x00")
	}
	us, err := a.db.SearchUsers(r.Context(), c.tenant, s)
	if err != nil {
		return err
	}
	writePage(w, p, us, userJSON, func(u apiUser) string { return userCursorKey(s.Sort, u) })
	return nil
}

// userCursorKey is the position after u in a listing sorted by sort.
func userCursorKey(sort string, u apiUser) string {
	switch sort {
	case "email":
		return strings.ToLower(u.Email) + "\x00" + u.ID
	case "created_at":
		t, _ := time.Parse(time.RFC3339, u.CreatedAt)
		return strconv.FormatInt(t.Unix(), 10) + "\x00" + u.ID
	}
	return "\x00" + u.ID
}

// createUserBody is the body of POST /users.
type createUserBody struct {
	Email         string         `json:"email"`
	Password      string         `json:"password"`
	EmailVerified bool           `json:"email_verified"`
	GivenName     string         `json:"given_name"`
	FamilyName    string         `json:"family_name"`
	Attributes    map[string]any `json:"attributes"`
	Roles         []string       `json:"roles"`
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request, c *call) error {
	var b createUserBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	if strings.TrimSpace(b.Email) == "" {
		return invalidInput("email is required", FieldError{Field: "email", Message: "is required"})
	}
	u, err := a.svc.CreateUser(r.Context(), c.tenant, UserInput{
		Email: b.Email, Password: keys.Secret(b.Password), GivenName: b.GivenName, FamilyName: b.FamilyName,
		EmailVerified: b.EmailVerified, Roles: b.Roles, Attributes: b.Attributes,
	}, c.actor())
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusCreated, a.location(c, "users", u.ID), userJSON(u))
}

// location is the URL of a created resource.
func (a *API) location(c *call, collection, id string) string {
	return APIPrefix + "/tenants/" + c.tenant + "/" + collection + "/" + id
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request, c *call) error {
	u, err := a.user(r.Context(), r, c)
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, "", userJSON(u))
}

func (a *API) patchUser(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx := r.Context()
	u, err := a.user(ctx, r, c)
	if err != nil {
		return err
	}
	cur := userJSON(u)
	if err := checkIfMatch(r, cur); err != nil {
		return err
	}
	var b userPatchBody
	if err := patchInto(r, cur, &b, "id", "created_at", "updated_at"); err != nil {
		return err
	}
	if b.Status != statusActive && b.Status != statusBlocked {
		return invalidInput("status is not a status", FieldError{Field: "status", Message: "must be active or blocked"})
	}
	patch := UserPatch{}
	if b.Email != u.Email {
		patch.Email = &b.Email
	}
	if b.EmailVerified != u.EmailVerified || patch.Email != nil {
		patch.EmailVerified = &b.EmailVerified
	}
	if b.GivenName != u.GivenName {
		patch.GivenName = &b.GivenName
	}
	if b.FamilyName != u.FamilyName {
		patch.FamilyName = &b.FamilyName
	}
	if !slices.Equal(b.Roles, cur.Roles) {
		patch.Roles = &b.Roles
	}
	patch.Attributes = changedAttributes(cur.Attributes, b.Attributes)
	if patch.Email != nil || patch.EmailVerified != nil || patch.GivenName != nil || patch.FamilyName != nil ||
		patch.Roles != nil || len(patch.Attributes) > 0 {
		if _, err := a.svc.UpdateUser(ctx, c.tenant, u.ID, patch, c.actor()); err != nil {
			return err
		}
	}
	if blocked := b.Status == statusBlocked; blocked != u.Disabled {
		if err := a.svc.SetDisabled(ctx, c.tenant, u.ID, blocked, c.actor()); err != nil {
			return err
		}
	}
	return a.answerUser(w, r, c, u.ID)
}

// changedAttributes lists the values of next that differ from cur, and the removed ones as empty values
// (which clear them).
func changedAttributes(cur, next map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range next {
		if string(mustJSON(v)) != string(mustJSON(cur[k])) {
			out[k] = v
		}
	}
	for k := range cur {
		if _, ok := next[k]; !ok {
			out[k] = ""
		}
	}
	return out
}

func (a *API) answerUser(w http.ResponseWriter, r *http.Request, c *call, id string) error {
	u, err := a.svc.identity.GetUser(r.Context(), c.tenant, id)
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, "", userJSON(u))
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request, c *call) error {
	u, err := a.user(r.Context(), r, c)
	if err != nil {
		return err
	}
	if err := checkIfMatch(r, userJSON(u)); err != nil {
		return err
	}
	if err := a.svc.DeleteUser(r.Context(), c.tenant, u.ID, c.actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// rolesBody is the body of PUT /users/{id}/roles and its answer.
type rolesBody struct {
	Roles []string `json:"roles"`
}

func (a *API) getUserRoles(w http.ResponseWriter, r *http.Request, c *call) error {
	u, err := a.user(r.Context(), r, c)
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, "", rolesBody{Roles: userJSON(u).Roles})
}

func (a *API) putUserRoles(w http.ResponseWriter, r *http.Request, c *call) error {
	u, err := a.user(r.Context(), r, c)
	if err != nil {
		return err
	}
	if err := checkIfMatch(r, rolesBody{Roles: userJSON(u).Roles}); err != nil {
		return err
	}
	var b rolesBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	if b.Roles == nil {
		return invalidInput("roles is required", FieldError{Field: "roles", Message: "is required: the full list of the user's roles ([] removes them all)"})
	}
	if err := a.svc.SetRoles(r.Context(), c.tenant, u.ID, b.Roles, c.actor()); err != nil {
		return err
	}
	return a.getUserRoles(w, r, c)
}

// passwordBody is the body of PUT /users/{id}/password.
type passwordBody struct {
	Password string `json:"password"`
}

func (a *API) setUserPassword(w http.ResponseWriter, r *http.Request, c *call) error {
	u, err := a.user(r.Context(), r, c)
	if err != nil {
		return err
	}
	var b passwordBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	if b.Password == "" {
		return invalidInput("password is required", FieldError{Field: "password", Message: "is required"})
	}
	if err := a.svc.SetPassword(r.Context(), c.tenant, u.ID, keys.Secret(b.Password), c.actor()); err != nil {
		return invalidUser(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) blockUser(w http.ResponseWriter, r *http.Request, c *call) error {
	return a.setBlocked(w, r, c, true)
}

func (a *API) unblockUser(w http.ResponseWriter, r *http.Request, c *call) error {
	return a.setBlocked(w, r, c, false)
}

func (a *API) setBlocked(w http.ResponseWriter, r *http.Request, c *call, blocked bool) error {
	u, err := a.user(r.Context(), r, c)
	if err != nil {
		return err
	}
	if err := a.svc.SetDisabled(r.Context(), c.tenant, u.ID, blocked, c.actor()); err != nil {
		return err
	}
	return a.answerUser(w, r, c, u.ID)
}

// apiSession is a browser session of a user.
type apiSession struct {
	ID         string   `json:"id"`
	AuthTime   string   `json:"auth_time"`
	AMR        []string `json:"amr"`
	ACR        string   `json:"acr"`
	UserAgent  string   `json:"user_agent"`
	IP         string   `json:"ip"`
	CreatedAt  string   `json:"created_at"`
	LastSeenAt string   `json:"last_seen_at"`
	ExpiresAt  string   `json:"expires_at"`
}

func (a *API) listUserSessions(w http.ResponseWriter, r *http.Request, c *call) error {
	active := func(ctx context.Context, tenantID, userID string) ([]store.Session, error) {
		return a.db.ListUserSessions(ctx, tenantID, userID, a.now())
	}
	return listOfUser(a, w, r, c, active, func(s store.Session) apiSession {
		amr := s.AMR
		if amr == nil {
			amr = []string{}
		}
		return apiSession{ID: s.ID, AuthTime: timeJSON(s.AuthTime), AMR: amr, ACR: s.ACR, UserAgent: s.UserAgent,
			IP: s.IP, CreatedAt: timeJSON(s.CreatedAt), LastSeenAt: timeJSON(s.LastSeenAt), ExpiresAt: timeJSON(s.ExpiresAt)}
	})
}

func (a *API) endUserSessions(w http.ResponseWriter, r *http.Request, c *call) error {
	return a.onUser(w, r, c, "", func(ctx context.Context, u store.User) error {
		return a.sessions.EndAll(ctx, c.tenant, u.ID, c.actor())
	})
}

func (a *API) endUserSession(w http.ResponseWriter, r *http.Request, c *call) error {
	return a.onUser(w, r, c, "the user has no session "+r.PathValue("sid"), func(ctx context.Context, u store.User) error {
		return a.sessions.EndByID(ctx, c.tenant, u.ID, r.PathValue("sid"), c.actor())
	})
}

// apiFactor is a confirmed second factor or passkey (never its secret).
type apiFactor struct {
	ID         string `json:"id"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	CreatedAt  string `json:"created_at"`
	LastUsedAt string `json:"last_used_at,omitempty"`
}

func (a *API) listUserFactors(w http.ResponseWriter, r *http.Request, c *call) error {
	return listOfUser(a, w, r, c, a.svc.identity.Factors, func(f store.Factor) apiFactor {
		return apiFactor{ID: f.ID, Kind: f.Kind, Name: f.Name, CreatedAt: timeJSON(f.CreatedAt), LastUsedAt: timeJSON(f.LastUsedAt)}
	})
}

func (a *API) deleteUserFactor(w http.ResponseWriter, r *http.Request, c *call) error {
	return a.onUser(w, r, c, "the user has no factor "+r.PathValue("factor"), func(ctx context.Context, u store.User) error {
		return a.svc.identity.RemoveFactor(ctx, c.tenant, u.ID, r.PathValue("factor"), c.actor())
	})
}

// apiIdentity is an upstream account linked to a user.
type apiIdentity struct {
	Connection    string `json:"connection"`
	Subject       string `json:"subject"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	CreatedAt     string `json:"created_at"`
	LastUsedAt    string `json:"last_used_at,omitempty"`
}

func (a *API) listUserIdentities(w http.ResponseWriter, r *http.Request, c *call) error {
	return listOfUser(a, w, r, c, a.db.ListUserIdentities, func(i store.UserIdentity) apiIdentity {
		return apiIdentity{Connection: i.ConnectionID, Subject: i.Subject, Email: i.Email, EmailVerified: i.EmailVerified,
			CreatedAt: timeJSON(i.CreatedAt), LastUsedAt: timeJSON(i.LastUsedAt)}
	})
}

// listOfUser answers the whole list of something the path's user has.
func listOfUser[S, J any](a *API, w http.ResponseWriter, r *http.Request, c *call,
	list func(ctx context.Context, tenantID, userID string) ([]S, error), view func(S) J) error {
	u, err := a.user(r.Context(), r, c)
	if err != nil {
		return err
	}
	xs, err := list(r.Context(), c.tenant, u.ID)
	if err != nil {
		return err
	}
	writeAll(w, xs, view)
	return nil
}

func (a *API) unlinkUserIdentity(w http.ResponseWriter, r *http.Request, c *call) error {
	missing := "the user has no identity " + r.PathValue("subject") + " of connection " + r.PathValue("connection")
	return a.onUser(w, r, c, missing, func(ctx context.Context, u store.User) error {
		t, err := a.tenantOf(ctx, c)
		if err != nil {
			return err
		}
		err = a.svc.identity.UnlinkIdentity(ctx, t, u, r.PathValue("connection"), r.PathValue("subject"), c.actor())
		if errors.Is(err, identity.ErrLastSignIn) {
			return problem(http.StatusConflict, "last-sign-in-method", "this identity is the user's only way to sign in: set a password or link another identity first")
		}
		return err
	})
}

// onUser runs a write on the path's user and answers 204. A store.ErrNotFound from fn means that what the
// path names under the user does not exist: it is answered 404 with the detail missing.
func (a *API) onUser(w http.ResponseWriter, r *http.Request, c *call, missing string, fn func(ctx context.Context, u store.User) error) error {
	u, err := a.user(r.Context(), r, c)
	if err != nil {
		return err
	}
	if err := fn(r.Context(), u); err != nil {
		if missing != "" && errors.Is(err, store.ErrNotFound) {
			return problem(http.StatusNotFound, "not-found", missing)
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
