package login

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// A sign-in from a browser the account never used sends a "New sign-in" email; its "This wasn't me" link
// opens /t/{tenant}/account/not-me?token=, which (on a button press, so that a mail scanner fetching the
// link changes nothing) ends every session and grant, makes every browser ask for the second factor
// again, and starts a password recovery in this browser.

// noticeNewDevice queues, in tx, the "New sign-in" email of u's sign-in from this request's browser,
// which was no known device of u.
func (p *Pages) noticeNewDevice(ctx context.Context, tx *store.Tx, r *http.Request, t store.Tenant, u store.User, now time.Time) error {
	pd := p.page(r, t, "")
	return p.identity.NoticeNewSignIn(ctx, tx, identity.NewSignIn{Tenant: t, User: u, Device: describeUserAgent(pd, r.UserAgent()),
		IP: web.ClientIP(r), Lang: pd.Lang, LinkBase: p.publicURL + tenantPath(t) + "/account/not-me?token="}, now)
}

// notMeData is the Data of not_me.html.
type notMeData struct {
	Action string
}

// handleNotMeForm is GET /t/{tenant}/account/not-me?token=: what the button will do.
func (p *Pages) handleNotMeForm(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok {
		return
	}
	token := r.URL.Query().Get("token")
	if _, err := p.identity.NotMeFlow(r.Context(), t.ID, token); err != nil {
		p.notMeInvalid(w, r, t, err)
		return
	}
	pd := p.page(r, t, "")
	pd.Title = "notme.title"
	pd.Data = notMeData{Action: r.URL.RequestURI()}
	p.render(w, r, t, http.StatusOK, "not_me", pd)
}

// handleNotMeSubmit is POST /t/{tenant}/account/not-me?token=.
func (p *Pages) handleNotMeSubmit(w http.ResponseWriter, r *http.Request) {
	t, ok := p.tenant(w, r)
	if !ok || !p.checkCSRF(w, r, t) {
		return
	}
	ctx := r.Context()
	f, err := p.identity.NotMeFlow(ctx, t.ID, r.URL.Query().Get("token"))
	if err != nil {
		p.notMeInvalid(w, r, t, err)
		return
	}
	pd := p.page(r, t, "")
	id, err := p.identity.NotMe(ctx, t, f, identity.Recovery{Lang: pd.Lang, IP: web.ClientIP(r),
		BrowserHash: p.sessions.BrowserHash(w, r, t.ID), LinkBase: p.publicURL + tenantPath(t) + "/recover/password?token="})
	if errors.Is(err, identity.ErrFlowInvalid) {
		p.notMeInvalid(w, r, t, err)
		return
	}
	if err != nil {
		var te *identity.ThrottledError
		if errors.As(err, &te) { // the sessions ended; only the recovery email waits for its limit
			p.message(w, r, t, http.StatusOK, "notme.done.title", "notme.done.limited", link{Href: recoverPath(t, ""), Text: "recover.link"})
			return
		}
		p.serverError(w, r, t, err)
		return
	}
	// This browser's own session ended with the others: clear its cookie too.
	_, _, _ = p.sessions.End(ctx, w, r, t.ID)
	seeOther(w, recoverCodePath(t, id, "")+"&notme=1")
}

func (p *Pages) notMeInvalid(w http.ResponseWriter, r *http.Request, t store.Tenant, err error) {
	if !errors.Is(err, identity.ErrFlowInvalid) {
		p.serverError(w, r, t, err)
		return
	}
	p.message(w, r, t, http.StatusBadRequest, "notme.invalid.title", "notme.invalid.text", link{Href: recoverPath(t, ""), Text: "recover.link"})
}
