package login

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// Organizations on the hosted pages. A sign-in for an organization (organization=ID on /authorize, or
// one chosen on the organization page) is shown in the organization's branding, offers the
// organization's own connections, and makes those who sign in through one of them its members. A
// client that requires an organization, asked without one, sends a member of several organizations to
// the organization page after sign-in; the choice is stored on the login request, which from then on
// is for that organization as if it had named it. A member of one organization needs no choice, and
// one of none is refused by oidc's resume step (access_denied, told to the client).

// organizationData is the Data of organization.html.
type organizationData struct {
	Action     string
	ClientName string
	Choices    []organizationChoice
}

// organizationChoice is one button of the organization page.
type organizationChoice struct {
	ID, Name string
}

func organizationPath(t store.Tenant, lrID string) string {
	return tenantPath(t) + "/organization?lr=" + url.QueryEscape(lrID)
}

// orgName is what the pages call o.
func orgName(o store.Organization) string {
	if o.DisplayName != "" {
		return o.DisplayName
	}
	return o.Name
}

// needsOrganization reports whether u must choose an organization for lr: an authorization request of
// a client that requires one, which named none, by a member of several.
func (p *Pages) needsOrganization(ctx context.Context, t store.Tenant, lr store.LoginRequest, client store.Client, u store.User) (bool, error) {
	if lr.Kind != store.LoginKindAuthorize || lr.Params.Organization != "" || !client.OrganizationRequired {
		return false, nil
	}
	orgs, err := p.db.UserOrganizations(ctx, t.ID, u.ID)
	if err != nil {
		return false, err
	}
	return len(orgs) > 1, nil
}

// requestOrganization is the organization lr signs in to (nil for none, or when it cannot be read,
// which is logged: the page then shows the tenant's look).
func (p *Pages) requestOrganization(ctx context.Context, t store.Tenant, lr *store.LoginRequest) *store.Organization {
	if lr == nil || lr.Params.Organization == "" {
		return nil
	}
	o, err := p.db.GetOrganization(ctx, t.ID, lr.Params.Organization)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			p.log.ErrorContext(ctx, "organization of a sign-in", "tenant", t.ID, "organization", lr.Params.Organization, "err", err)
		}
		return nil
	}
	return &o
}

// orgLook is t's look for a page of a sign-in to o: the organization's branding over the tenant's. The
// branding was checked when it was saved; a stored value that no longer reads leaves the tenant's.
func orgLook(t store.Tenant, o *store.Organization) config.TenantLook {
	look := t.Settings.Look
	if o == nil {
		return look
	}
	b, err := config.BrandingFromMap(o.Branding)
	if err != nil || len(config.TenantLook{Branding: b}.Validate("")) > 0 {
		return look
	}
	look.Branding = b.Over(look.Branding)
	return look
}

// signInConnections are the connections whose buttons the sign-in page of a request for organization o
// (nil: none) shows: o's own connections first, then those of the tenant that belong to no
// organization. An organization's connection is its enterprise sign-in, shown on its pages only.
func (p *Pages) signInConnections(ctx context.Context, t store.Tenant, cs []config.Connection, o *store.Organization) ([]config.Connection, error) {
	if len(cs) == 0 {
		return cs, nil
	}
	owned, err := p.db.OrganizationConnectionIDs(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	var mine, shared []config.Connection
	for _, c := range cs {
		switch {
		case o != nil && slices.Contains(o.Connections, c.ID):
			mine = append(mine, c)
		case !slices.Contains(owned, c.ID):
			shared = append(shared, c)
		}
	}
	return append(mine, shared...), nil
}

// joinOrganization makes u a member of lr's organization when u signed in through c, one of its
// connections (just-in-time membership, with no roles).
func (p *Pages) joinOrganization(ctx context.Context, t store.Tenant, lr *store.LoginRequest, c config.Connection, u store.User) error {
	if lr == nil || lr.Params.Organization == "" || p.authz == nil {
		return nil
	}
	joined, err := p.authz.JoinThroughConnection(ctx, t.ID, lr.Params.Organization, u.ID, c.ID)
	if joined {
		p.log.InfoContext(ctx, "joined organization through its connection", "tenant", t.ID, "organization", lr.Params.Organization,
			"connection", c.ID, "user_id", u.ID, "request_id", web.RequestIDFrom(ctx))
	}
	return err
}

// organizationState is what both organization handlers load and check first.
type organizationState struct {
	lr     store.LoginRequest
	s      store.Session
	u      store.User
	client store.Client
	orgs   []store.Organization
}

// loadOrganization loads the pending authorization request of this browser, its signed-in user and the
// user's organizations. It answers itself and returns false when there is nothing to choose (the request
// then goes on to its next step).
func (p *Pages) loadOrganization(w http.ResponseWriter, r *http.Request, t store.Tenant) (organizationState, bool) {
	var st organizationState
	lr, ok := p.loadRequest(w, r, t)
	if !ok || !p.requestPending(w, r, t, lr) {
		return st, false
	}
	if lr.Kind != store.LoginKindAuthorize {
		seeOther(w, continuePath(t, lr))
		return st, false
	}
	s, u, client, ok := p.requestSession(w, r, t, lr, "organization")
	if !ok {
		return st, false
	}
	st = organizationState{lr: lr, s: s, u: u, client: client}
	need, err := p.needsOrganization(r.Context(), t, lr, client, u)
	if err != nil {
		p.serverError(w, r, t, err)
		return st, false
	}
	if !need { // named or chosen already (another tab), or nothing to choose from
		p.goOn(w, r, t, lr, s, u)
		return st, false
	}
	if st.orgs, err = p.db.ListUserOrganizations(r.Context(), t.ID, u.ID); err != nil {
		p.serverError(w, r, t, err)
		return st, false
	}
	return st, true
}

// goOn sends lr, whose user u signed in with session s, to its next step, or completes it.
func (p *Pages) goOn(w http.ResponseWriter, r *http.Request, t store.Tenant, lr store.LoginRequest, s store.Session, u store.User) {
	next, ok := p.checkNext(w, r, t, lr, u)
	if !ok {
		return
	}
	if next != stepDone {
		seeOther(w, next.path(t, lr))
		return
	}
	p.complete(w, r, t, lr, s, grantedScopes(lr))
}

// handleOrganizationForm is GET /t/{tenant}/organization?lr=: ask the signed-in user which of their
// organizations to sign in to.
func (p *Pages) handleOrganizationForm(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	st, ok := p.loadOrganization(w, r, t)
	if !ok {
		return
	}
	p.renderOrganization(w, r, t, st, http.StatusOK, web.PageData{})
}

// handleOrganizationSubmit is POST /t/{tenant}/organization?lr=, organization=ID: store the choice (one
// of the user's organizations) on the request and go on.
func (p *Pages) handleOrganizationSubmit(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok || !p.checkCSRF(w, r, t) {
		return
	}
	st, ok := p.loadOrganization(w, r, t)
	if !ok {
		return
	}
	chosen := r.PostFormValue("organization")
	if !slices.ContainsFunc(st.orgs, func(o store.Organization) bool { return o.ID == chosen }) {
		p.renderOrganization(w, r, t, st, http.StatusBadRequest, web.PageData{Error: "org.choose.error"})
		return
	}
	err := p.db.SetLoginRequestOrganization(r.Context(), t.ID, st.lr.ID, chosen)
	if errors.Is(err, store.ErrNotFound) { // completed or refused meanwhile: its next step tells
		seeOther(w, continuePath(t, st.lr))
		return
	}
	if err != nil {
		p.serverError(w, r, t, fmt.Errorf("choose organization: %w", err))
		return
	}
	st.lr.Params.Organization = chosen
	p.goOn(w, r, t, st.lr, st.s, st.u)
}

func (p *Pages) renderOrganization(w http.ResponseWriter, r *http.Request, t store.Tenant, st organizationState, status int, pd web.PageData) {
	// The choice ends in a redirect to the client (through resume), which form-action also governs.
	web.AllowFormAction(w, st.lr.Params.RedirectURI)
	pd.Lang = st.lr.Params.Lang
	pd.Title = "org.choose.title"
	d := organizationData{Action: organizationPath(t, st.lr.ID), ClientName: clientLabel(st.client)}
	for _, o := range st.orgs {
		d.Choices = append(d.Choices, organizationChoice{ID: o.ID, Name: orgName(o)})
	}
	pd.Data = d
	p.render(w, r, t, status, "organization", pd)
}
