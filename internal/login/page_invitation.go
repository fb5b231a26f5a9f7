package login

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// invitationData is the Data of invitation.html: the registration form of an invitation.
type invitationData struct {
	Action string
	Email  string // fixed by the invitation, shown and not editable
	Fields []invitationField
}

// invitationField is one profile input of the form, with the value entered (kept when the form is
// shown again).
type invitationField struct {
	identity.FormField
	Label   string
	Value   string
	Checked bool
}

// invitationPath is the page of the invitation whose link carries token.
func invitationPath(t store.Tenant, token string) string {
	return tenantPath(t) + "/invitation?token=" + url.QueryEscape(token)
}

// handleInvitationForm is GET /t/{tenant}/invitation?token=: the registration form of a usable invitation,
// or a page saying why the link cannot be used.
func (p *Pages) handleInvitationForm(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	token := r.URL.Query().Get("token")
	inv, ok := p.openInvitation(w, r, t, token)
	if !ok {
		return
	}
	p.renderInvitation(w, r, t, inv, token, http.StatusOK, nil, web.PageData{})
}

// handleInvitationSubmit is POST /t/{tenant}/invitation?token=: create the account (address verified by
// the link, password per policy, profile per schema, the invitation's roles), accept the invitation and
// start the session, all in one transaction, then send the browser to the client's initiate_login_uri
// or the account page.
func (p *Pages) handleInvitationSubmit(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok || !p.checkCSRF(w, r, t) {
		return
	}
	ctx := r.Context()
	token := r.URL.Query().Get("token")
	inv, ok := p.openInvitation(w, r, t, token)
	if !ok {
		return
	}
	values := map[string]any{}
	for _, f := range identity.FormFields(t.Settings.Profile, identity.PurposeRegistration) {
		if f.Name == "email" || f.Name == "password" {
			continue
		}
		if v := strings.TrimSpace(r.PostFormValue(f.Name)); v != "" {
			values[f.Name] = v
		}
	}
	// Every problem is reported at once: the password and each profile field, beside its input.
	password := r.PostFormValue("password")
	pd := p.page(r, t, "")
	fe := map[string]string{}
	switch {
	case password == "":
		fe["password"] = pd.T("invite.error.password_missing")
	case len(password) > maxPasswordLen: // no password of ours: not worth hashing
		fe["password"] = pd.T("password.reason.too_long", identity.MaxPasswordLen)
	}
	var a identity.Acceptance
	var err error
	if len(password) <= maxPasswordLen {
		a, err = p.identity.PrepareAcceptance(ctx, inv, password, values)
	}
	var aerr *identity.AcceptanceError
	switch {
	case errors.As(err, &aerr):
		if aerr.Password != nil && fe["password"] == "" {
			fe["password"] = passwordReasonText(pd, t, aerr.Password.Reason)
		}
		for _, e := range aerr.Fields {
			fe[e.Field] = fieldErrorText(pd, e)
		}
	case err != nil:
		p.serverError(w, r, t, fmt.Errorf("prepare invitation acceptance: %w", err))
		return
	}
	if len(fe) > 0 {
		var order []string // password first, then the profile fields, in form order
		for _, f := range identity.FormFields(t.Settings.Profile, identity.PurposeRegistration) {
			order = append(order, f.Name)
		}
		pd.FieldErrors, pd.Error = fe, errorSummary(fe, order...)
		p.log.InfoContext(ctx, "invitation form refused", "tenant", t.ID, "request_id", web.RequestIDFrom(ctx))
		p.renderInvitation(w, r, t, inv, token, http.StatusUnprocessableEntity, values, pd)
		return
	}

	createAccount := func(tx *store.Tx) error { return p.identity.AcceptInvitation(ctx, tx, a) }
	if _, err := p.sessions.StartAfter(ctx, w, r, t, a.UserID(), passwordAMR, passwordACR, createAccount, nil); err != nil {
		if errors.Is(err, store.ErrConflict) {
			// Accepted, revoked or resent meanwhile, or the address got an account meanwhile.
			if _, ok := p.openInvitation(w, r, t, token); ok {
				p.message(w, r, t, http.StatusConflict, "invite.account_exists.title", "invite.account_exists.text",
					link{Href: loginPath(t, ""), Text: "login.start_again.sign_in"})
			}
			return
		}
		p.serverError(w, r, t, fmt.Errorf("accept invitation: %w", err))
		return
	}
	p.log.InfoContext(ctx, "invitation accepted", "tenant", t.ID, "user_id", a.UserID(), "request_id", web.RequestIDFrom(ctx))
	if to := p.initiateLoginURI(r, t, inv); to != "" {
		seeOther(w, to)
		return
	}
	seeOther(w, accountPath(t))
}

// openInvitation returns the invitation the link's token opens; when it cannot be used it answers a page
// saying why (404 for an unknown link, 410 for an expired, revoked or used one) and returns false.
func (p *Pages) openInvitation(w http.ResponseWriter, r *http.Request, t store.Tenant, token string) (store.Invitation, bool) {
	q := r.URL.Query()
	if len(q["token"]) > 1 {
		token = ""
	}
	inv, err := p.identity.OpenInvitation(r.Context(), t.ID, token)
	var le *identity.InvitationLinkError
	switch {
	case errors.As(err, &le):
		status := http.StatusGone
		if le.Reason == identity.LinkUnknown {
			status = http.StatusNotFound
		}
		p.log.InfoContext(r.Context(), "invitation link refused", "tenant", t.ID, "reason", le.Reason,
			"request_id", web.RequestIDFrom(r.Context()))
		links := []link{{Href: loginPath(t, ""), Text: "login.start_again.sign_in"}}
		p.message(w, r, t, status, "invite.gone."+le.Reason+".title", "invite.gone."+le.Reason+".text", links...)
		return inv, false
	case err != nil:
		p.serverError(w, r, t, fmt.Errorf("open invitation: %w", err))
		return inv, false
	}
	return inv, true
}

// initiateLoginURI is where the new account goes: the invitation's client's initiate_login_uri with iss
// (OIDC Core §4, third-party initiated login), or "" for the account page.
func (p *Pages) initiateLoginURI(r *http.Request, t store.Tenant, inv store.Invitation) string {
	if inv.ClientID == "" {
		return ""
	}
	c, err := p.db.GetClient(r.Context(), t.ID, inv.ClientID)
	if err != nil || c.InitiateLoginURI == "" {
		return ""
	}
	u, err := url.Parse(c.InitiateLoginURI)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("iss", p.publicURL+tenantPath(t))
	u.RawQuery = q.Encode()
	return u.String()
}

// renderInvitation renders the registration form of inv with the values entered (never the password).
func (p *Pages) renderInvitation(w http.ResponseWriter, r *http.Request, t store.Tenant, inv store.Invitation, token string,
	status int, values map[string]any, pd web.PageData) {
	if pd.Texts.Lang == "" {
		pd2 := p.page(r, t, "")
		pd2.Error, pd2.FieldErrors = pd.Error, pd.FieldErrors
		pd = pd2
	}
	// The token was checked: the language switcher may come back to this page with it.
	pd.Here = invitationPath(t, token)
	d := invitationData{Action: invitationPath(t, token), Email: inv.Email}
	for _, f := range identity.FormFields(t.Settings.Profile, identity.PurposeRegistration) {
		if f.Name == "email" || f.Name == "password" {
			continue
		}
		v, _ := values[f.Name].(string)
		d.Fields = append(d.Fields, invitationField{FormField: f, Label: fieldLabel(pd, f), Value: v,
			Checked: f.InputType == "checkbox" && v != ""})
	}
	if to := p.initiateLoginURI(r, t, inv); to != "" {
		// The answer to this form redirects there; browsers apply the form's form-action to that redirect.
		web.AllowFormAction(w, to)
	}
	pd.Title = "invite.title"
	pd.Data = d
	p.render(w, r, t, status, "invitation", pd)
}
