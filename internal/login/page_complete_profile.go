package login

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// completeData is the Data of complete_profile.html.
type completeData struct {
	Action     string
	ClientName string
	Fields     []fieldView
	// Skippable shows "Skip for now": every asked field is progressive (none is required by the client).
	Skippable bool
}

// completeState is what both complete-profile handlers load and check first.
type completeState struct {
	consentState
	ask identity.ProfileAsk
}

// loadCompletion loads the pending login request of this browser, the signed-in user and what the sign-in
// asks of the user's profile (identity.AskProfile). It answers the request itself and returns false when
// the page does not apply: no session (sign in first), or the request is not pending.
func (p *Pages) loadCompletion(w http.ResponseWriter, r *http.Request, t store.Tenant) (completeState, bool) {
	var cs completeState
	lr, ok := p.loadRequest(w, r, t)
	if !ok || !p.requestPending(w, r, t, lr) {
		return cs, false
	}
	s, u, client, ok := p.requestSession(w, r, t, lr, "complete profile")
	if !ok {
		return cs, false
	}
	cs.lr, cs.s, cs.u, cs.client = lr, s, u, client
	cs.ask = p.askProfile(r.Context(), t, u, client)
	return cs, true
}

// handleCompleteProfileForm is GET /t/{tenant}/complete-profile?lr=: ask the signed-in user for the
// profile fields the sign-in needs, or go on when none is missing (completed meanwhile).
func (p *Pages) handleCompleteProfileForm(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	cs, ok := p.loadCompletion(w, r, t)
	if !ok {
		return
	}
	if cs.ask.Empty() {
		p.afterCompletion(w, r, t, cs)
		return
	}
	p.renderCompleteProfile(w, r, t, cs, http.StatusOK, currentValues(cs.u), nil, web.PageData{})
}

// handleCompleteProfileSubmit is POST /t/{tenant}/complete-profile?lr=, action=save|skip. Save validates
// the given fields (identity.ValidateProfile, purpose completion: each client-required one must be given)
// and writes them with identity.Service.UpdateProfile (user.updated); progressive fields left empty are
// skipped. Skip, allowed only when no asked field is required by the client, skips every asked field
// (identity.Service.SkipProfile, profile.skipped). Both then go on: consent when needed, else the request
// completes.
func (p *Pages) handleCompleteProfileSubmit(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok || !p.checkCSRF(w, r, t) {
		return
	}
	cs, ok := p.loadCompletion(w, r, t)
	if !ok {
		return
	}
	ctx := r.Context()
	if cs.ask.Empty() { // completed meanwhile (another tab)
		p.afterCompletion(w, r, t, cs)
		return
	}
	submitted := map[string]string{}
	values := map[string]any{}
	tooLong := map[string]string{}
	var left []string // progressive fields left empty: skipped
	for _, name := range cs.ask.Fields() {
		v := r.PostFormValue(name)
		if len(v) > maxProfileValue {
			tooLong[name] = "complete.error.too_long_value"
			v = ""
		}
		submitted[name] = v
		if v == "" && tooLong[name] == "" && slices.Contains(cs.ask.Progressive, name) {
			left = append(left, name)
			continue
		}
		values[name] = v
	}

	if r.PostFormValue("action") == "skip" {
		if len(cs.ask.Required) > 0 {
			p.renderCompleteProfile(w, r, t, cs, http.StatusBadRequest, submitted, nil,
				web.PageData{Error: "complete.error.cannot_skip"})
			return
		}
		if err := p.identity.SkipProfile(ctx, t.ID, cs.u.ID, cs.ask.Progressive); err != nil {
			p.serverError(w, r, t, err)
			return
		}
		p.afterCompletion(w, r, t, cs)
		return
	}

	pd := p.page(r, t, cs.lr.Params.Lang)
	u := cs.u
	var err error
	if len(tooLong) == 0 && len(values) > 0 { // a value far beyond every limit is refused before validation
		u, err = p.identity.UpdateProfile(ctx, t.ID, cs.u.ID, identity.PurposeCompletion, values, cs.u.ID)
	}
	var fe identity.FieldErrors
	switch {
	case len(tooLong) > 0 || errors.As(err, &fe) || errors.Is(err, identity.ErrInvalidName):
		errs := map[string]string{}
		for k, v := range tooLong {
			errs[k] = pd.T(v)
		}
		for _, e := range fe {
			errs[e.Field] = fieldErrorText(pd, e)
		}
		if errors.Is(err, identity.ErrInvalidName) {
			for _, n := range []string{"given_name", "family_name"} {
				if _, ok := errs[n]; !ok && submitted[n] != "" {
					errs[n] = pd.T("field.error.too_long", "200")
				}
			}
		}
		p.renderCompleteProfile(w, r, t, cs, http.StatusUnprocessableEntity, submitted, errs,
			web.PageData{Error: "complete.invalid"})
		return
	case err != nil:
		p.serverError(w, r, t, fmt.Errorf("complete profile: %w", err))
		return
	}
	if len(left) > 0 {
		if err := p.identity.SkipProfile(ctx, t.ID, cs.u.ID, left); err != nil {
			p.serverError(w, r, t, err)
			return
		}
		u.ProfileSkips = maps.Clone(u.ProfileSkips)
		if u.ProfileSkips == nil {
			u.ProfileSkips = map[string]int{}
		}
		for _, f := range left {
			u.ProfileSkips[f] = u.SignIns
		}
	}
	cs.u = u
	if cs.ask = p.askProfile(r.Context(), t, u, cs.client); !cs.ask.Empty() {
		seeOther(w, completeProfilePath(t, cs.lr.ID)) // the schema changed meanwhile: ask again
		return
	}
	p.afterCompletion(w, r, t, cs)
}

// afterCompletion continues lr once the profile step is done: consent when needed, else complete the
// request with the browser's session and go on.
func (p *Pages) afterCompletion(w http.ResponseWriter, r *http.Request, t store.Tenant, cs completeState) {
	need, _, err := p.consentNeeded(r.Context(), t, cs.lr, cs.u.ID)
	if errors.Is(err, store.ErrNotFound) {
		p.clientGone(w, r, t, cs.lr)
		return
	}
	if err != nil {
		p.serverError(w, r, t, err)
		return
	}
	if need {
		seeOther(w, consentPath(t, cs.lr.ID))
		return
	}
	p.complete(w, r, t, cs.lr, cs.s, grantedScopes(cs.lr))
}

// renderCompleteProfile renders the asked fields with values and errs (translated, beside their inputs).
func (p *Pages) renderCompleteProfile(w http.ResponseWriter, r *http.Request, t store.Tenant, cs completeState, status int,
	values map[string]string, errs map[string]string, pd web.PageData) {
	if cs.lr.Kind == store.LoginKindAuthorize {
		// The answer to this form may end in a redirect to the client (through resume).
		web.AllowFormAction(w, cs.lr.Params.RedirectURI)
	}
	base := p.page(r, t, cs.lr.Params.Lang)
	base.Error, base.FieldErrors = pd.Error, errs
	base.Title = "complete.title"
	base.Data = completeData{
		Action:     completeProfilePath(t, cs.lr.ID),
		ClientName: clientLabel(cs.client),
		Fields:     fieldViews(base, identity.CompletionFields(t.Settings.Profile, cs.ask), values, errs),
		Skippable:  len(cs.ask.Required) == 0,
	}
	p.render(w, r, t, status, "complete_profile", base)
}
