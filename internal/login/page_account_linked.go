package login

import (
	"errors"
	"net/http"

	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/store"
)

// The account console's "Linked accounts" section: the upstream identities that sign in to this account,
// each with an "Unlink" button (refused when it is the last way in), and a "Link" button for each of the
// tenant's connections the account has no identity at.

// linkedView is the section's content.
type linkedView struct {
	Identities []linkedIdentityView
	Available  []connectionButton
	UnlinkPath string
}

type linkedIdentityView struct {
	N                   int
	Connection, Subject string
	Name, Email         string
	Since, LastUsed     timeView
}

// linkedSection fills d.Linked for u.
func (p *Pages) linkedSection(w http.ResponseWriter, r *http.Request, t store.Tenant, u store.User, d *accountData) error {
	ctx := r.Context()
	ids, err := p.db.ListUserIdentities(ctx, t.ID, u.ID)
	if err != nil {
		return err
	}
	cs, err := p.tenantConnections(ctx, t)
	if err != nil {
		return err
	}
	v := &linkedView{UnlinkPath: accountPath(t) + "/linked/unlink"}
	have := map[string]bool{}
	for i, ui := range ids {
		name := ui.ConnectionID
		for _, c := range cs {
			if c.ID == ui.ConnectionID {
				name = connectionName(c)
			}
		}
		have[ui.ConnectionID] = true
		v.Identities = append(v.Identities, linkedIdentityView{N: i + 1, Connection: ui.ConnectionID, Subject: ui.Subject, Name: name,
			Email: ui.Email, Since: newTimeView(ui.CreatedAt), LastUsed: newTimeView(ui.LastUsedAt)})
	}
	for _, c := range cs {
		if c.Redirecting() && !have[c.ID] {
			v.Available = append(v.Available, buttonFor(w, c, connectionsPath(t, c.ID)+"/start?link=1"))
		}
	}
	d.Linked = v
	return nil
}

// handleUnlink is POST /t/{tenant}/account/linked/unlink with connection and subject.
func (p *Pages) handleUnlink(w http.ResponseWriter, r *http.Request) {
	t, cur, u, ok := p.accountPost(w, r)
	if !ok {
		return
	}
	if !p.requireRecent(w, r, t, cur, accountPath(t)+"/linked") {
		return
	}
	conn, subject := r.PostFormValue("connection"), r.PostFormValue("subject")
	if conn == "" || subject == "" || len(subject) > 1024 {
		seeOther(w, accountPath(t)+"/linked?error=no_choice")
		return
	}
	err := p.identity.UnlinkIdentity(r.Context(), t, u, conn, subject, u.ID)
	switch {
	case errors.Is(err, identity.ErrLastSignIn):
		seeOther(w, accountPath(t)+"/linked?error=last_sign_in")
	case errors.Is(err, store.ErrNotFound):
		seeOther(w, accountPath(t)+"/linked?error=identity_unknown")
	case err != nil:
		p.serverError(w, r, t, err)
	default:
		seeOther(w, accountPath(t)+"/linked?done=identity_unlinked")
	}
}
