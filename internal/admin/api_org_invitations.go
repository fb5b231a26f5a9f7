package admin

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/store"
)

// apiOrgInvitation is an invitation to an organization: accepting it creates the account and makes it a
// member holding the roles.
type apiOrgInvitation struct {
	ID        string   `json:"id"`
	Email     string   `json:"email"`
	Roles     []string `json:"roles" doc:"The roles in the organization the account gets on acceptance."`
	ClientID  string   `json:"client_id" doc:"The client the new account is sent to (its initiate_login_uri); empty: the account page."`
	Status    string   `json:"status" doc:"pending, expired (pending past expires_at), accepted or revoked."`
	ExpiresAt string   `json:"expires_at"`
	CreatedAt string   `json:"created_at"`
	InvitedBy string   `json:"invited_by"`
	UserID    string   `json:"user_id,omitempty" doc:"The account that accepted it."`
}

// orgInvitationBody is the body of POST /organizations/{id}/invitations.
type orgInvitationBody struct {
	Email     string   `json:"email"`
	Roles     []string `json:"roles"`
	ClientID  string   `json:"client_id"`
	ExpiresIn int64    `json:"expires_in" doc:"How long the link works, in seconds: 300 to 2592000 (0: 72 hours)."`
}

func (a *API) orgInvitationJSON(inv store.Invitation) apiOrgInvitation {
	status := inv.Status
	if status == store.InvitationPending && !a.now().Before(inv.ExpiresAt) {
		status = "expired"
	}
	roles := inv.OrgRoles
	if roles == nil {
		roles = []string{}
	}
	return apiOrgInvitation{ID: inv.ID, Email: inv.Email, Roles: roles, ClientID: inv.ClientID, Status: status,
		ExpiresAt: timeJSON(inv.ExpiresAt), CreatedAt: timeJSON(inv.CreatedAt), InvitedBy: inv.InvitedBy, UserID: inv.UserID}
}

func (a *API) registerOrgInvitations() {
	const base = "/tenants/{tenant}/organizations/{id}/invitations"
	r, w := scopeRead("organizations"), scopeWrite("organizations")
	a.handle("GET", base, r, a.listOrgInvitations)
	a.handle("POST", base, w, a.createOrgInvitation)
	a.handle("GET", base+"/{invitation_id}", r, a.getOrgInvitation)
	a.handle("DELETE", base+"/{invitation_id}", w, a.revokeOrgInvitation)

	const tag = "organizations"
	a.document("GET", base, opDoc{summary: "List an organization's invitations, newest first", tag: tag, list: true, answer: apiOrgInvitation{}, query: pageParams})
	a.document("POST", base, opDoc{summary: "Invite an address to the organization: the emailed link creates the account and makes it a member", tag: tag,
		body: orgInvitationBody{}, status: http.StatusCreated, answer: apiOrgInvitation{}})
	a.document("GET", base+"/{invitation_id}", opDoc{summary: "Get an invitation to the organization", tag: tag, answer: apiOrgInvitation{}})
	a.document("DELETE", base+"/{invitation_id}", opDoc{summary: "Revoke a pending invitation: its link stops working", tag: tag, status: http.StatusNoContent})
}

func (a *API) listOrgInvitations(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	_, o, err := a.organizationOf(r, c)
	if err != nil {
		return err
	}
	var after time.Time
	var afterID string
	if p.after != "" {
		at, id, _ := strings.Cut(p.after, "\x00")
		n, err := strconv.ParseInt(at, 10, 64)
		if err != nil || id == "" {
			return invalidInput("cursor is not one this API gave", FieldError{Field: "cursor", Message: "pass the next_cursor of the previous page unchanged"})
		}
		after, afterID = time.Unix(n, 0), id
	}
	invs, err := a.db.ListOrganizationInvitations(r.Context(), c.tenant, o.ID, after, afterID, p.limit+1)
	if err != nil {
		return err
	}
	out := make([]apiOrgInvitation, len(invs))
	created := map[string]int64{}
	for i, inv := range invs {
		out[i] = a.orgInvitationJSON(inv)
		created[inv.ID] = inv.CreatedAt.Unix()
	}
	writeList(w, p, out, func(x apiOrgInvitation) string { return strconv.FormatInt(created[x.ID], 10) + "\x00" + x.ID })
	return nil
}

func (a *API) createOrgInvitation(w http.ResponseWriter, r *http.Request, c *call) error {
	_, o, err := a.organizationOf(r, c)
	if err != nil {
		return err
	}
	var b orgInvitationBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	if strings.TrimSpace(b.Email) == "" {
		return invalidInput("email is required", FieldError{Field: "email", Message: "is required"})
	}
	inviter := o.DisplayName
	if inviter == "" {
		inviter = o.Name
	}
	inv, err := a.svc.CreateInvitation(r.Context(), c.tenant, InvitationInput{Email: b.Email, ClientID: b.ClientID,
		TTL: seconds(b.ExpiresIn), Inviter: inviter, OrgID: o.ID, OrgRoles: b.Roles}, c.actor())
	if errors.Is(err, identity.ErrAccountExists) {
		return problem(http.StatusConflict, "conflict", "the address has an account already: make it a member with POST .../organizations/"+o.ID+"/members",
			FieldError{Field: "email", Message: "has an account already"})
	}
	if err != nil {
		return invitationFields(err)
	}
	loc := a.location(c, "organizations", o.ID) + "/invitations/" + inv.ID
	w.Header().Set("Location", loc)
	writeJSON(w, http.StatusCreated, a.orgInvitationJSON(inv))
	return nil
}

// invitationFields names the body's fields in the service's field problems (client_id, expires_in).
func invitationFields(err error) error {
	p, ok := asProblem(err)
	if !ok {
		return err
	}
	for i, f := range p.Errors {
		switch f.Field {
		case "client":
			p.Errors[i].Field = "client_id"
		case "expires":
			p.Errors[i].Field = "expires_in"
		}
	}
	return p
}

// orgInvitation loads the path's invitation of the path's organization.
func (a *API) orgInvitation(r *http.Request, c *call) (store.Invitation, error) {
	_, o, err := a.organizationOf(r, c)
	if err != nil {
		return store.Invitation{}, err
	}
	id := r.PathValue("invitation_id")
	inv, err := a.db.GetInvitation(r.Context(), c.tenant, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && inv.OrgID != o.ID {
		return inv, problem(http.StatusNotFound, "not-found", "organization "+o.ID+" has no invitation "+strconv.Quote(id))
	}
	return inv, err
}

func (a *API) getOrgInvitation(w http.ResponseWriter, r *http.Request, c *call) error {
	inv, err := a.orgInvitation(r, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.orgInvitationJSON(inv))
	return nil
}

func (a *API) revokeOrgInvitation(w http.ResponseWriter, r *http.Request, c *call) error {
	inv, err := a.orgInvitation(r, c)
	if err != nil {
		return err
	}
	err = a.svc.RevokeInvitation(r.Context(), c.tenant, inv.ID, c.actor())
	if errors.Is(err, identity.ErrInvitationClosed) {
		return problem(http.StatusConflict, "invitation-closed", "the invitation was "+inv.Status+" already: only a pending one can be revoked")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
