package login

import (
	"context"
	"errors"
	"net/http"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/risk"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// riskAssessment is the risk of one sign-in, and whether the browser is a known device of the account:
// under the adaptive policy an unknown device is asked for a second factor whatever its score (an
// allow-listed address scores 0 before any signal runs, and an operator may weigh new_device low).
type riskAssessment struct {
	risk.Assessment
	known bool
}

// assessRisk scores a sign-in by u from this browser (device: its verified device id, "" when none) with
// the risk engine. Without an engine (tests that build pages alone) every browser that completed a
// sign-in for u is low and any other medium, which is what the default weights give on a known network.
func (p *Pages) assessRisk(ctx context.Context, r *http.Request, t store.Tenant, u store.User, device string, sig signals) (riskAssessment, error) {
	known := false
	if device != "" {
		var err error
		if known, err = p.db.IsKnownDevice(ctx, t.ID, keys.HashToken(device), u.ID, p.now()); err != nil {
			return riskAssessment{}, err
		}
	}
	known = known && u.ID != ""
	if p.risk == nil {
		if known {
			return riskAssessment{risk.Assessment{Level: risk.Low}, true}, nil
		}
		return riskAssessment{risk.Assessment{Level: risk.Medium, Score: 35, Reasons: []risk.Reason{{Code: risk.NewDevice}}}, false}, nil
	}
	a, err := p.risk.Evaluate(ctx, risk.Attempt{TenantID: t.ID, UserID: u.ID, IP: web.ClientIP(r), DeviceKnown: known,
		BreachedPassword: sig.breached, Now: p.now(), Policy: t.Settings.Risk})
	if err != nil {
		return riskAssessment{}, err
	}
	if !known && a.Has(risk.AllowList) {
		// An allow-listed address is answered before the signals run: say that the device is new anyway
		// (it weighs nothing there), since it is why the adaptive policy asks for a second factor.
		a.Reasons = append(a.Reasons, risk.Reason{Code: risk.NewDevice})
	}
	return riskAssessment{a, known}, nil
}

// riskEvent is the event of a risk decision (allowed, challenged, denied, failed).
func (a riskAssessment) event(t store.Tenant, u store.User, r *http.Request, decision string) store.Event {
	return a.Event(t.ID, u.ID, web.ClientIP(r), decision)
}

// recordRisk remembers what a completed sign-in tells about the user's usual places.
func (p *Pages) recordRisk(ctx context.Context, tx *store.Tx, r *http.Request, t store.Tenant, u store.User) error {
	if p.risk == nil {
		return nil
	}
	return p.risk.RecordSuccess(ctx, tx, t.ID, u.ID, web.ClientIP(r), p.now())
}

// recordRiskFailure scores a failed sign-in attempt on the account of email (none when no account has
// it), writes its risk.assessed event with decision failed, and counts the failure against the request's
// address (any account). The score is taken before the failure is counted, so it says what the attempt
// looked like when it came. Nothing here changes the answer, which is the same for every failure; an
// error is logged and the page goes on.
func (p *Pages) recordRiskFailure(ctx context.Context, r *http.Request, t store.Tenant, email string) {
	if p.risk == nil {
		return
	}
	warn := func(what string, err error) {
		p.log.WarnContext(ctx, "risk: "+what, "tenant", t.ID, "err", err, "request_id", web.RequestIDFrom(ctx))
	}
	var u store.User
	if norm, err := identity.NormalizeEmail(email); err == nil {
		// Read for an unknown address too, so that both cost the same statements.
		if u, err = p.db.GetUserByEmail(ctx, t.ID, norm); err != nil && !errors.Is(err, store.ErrNotFound) {
			warn("read the account", err)
		}
		if err != nil {
			u = store.User{}
		}
	}
	a, err := p.assessRisk(ctx, r, t, u, p.deviceID(r, t.ID), signals{})
	if err != nil {
		warn("score failure", err)
	} else if err := p.db.AppendEvent(ctx, a.event(t, u, r, events.RiskFailed)); err != nil {
		warn("record failure", err)
	}
	if err := p.risk.RecordFailure(ctx, t.ID, web.ClientIP(r), p.now()); err != nil {
		warn("count failure", err)
	}
}

// refuseDenied answers a sign-in attempt from an address on the deny list (the tenant's over the global
// one) before any password or code is looked at, with the page a refused sign-in gets, and returns true.
// Every attempt from that address reads the same, so the answer says nothing about the password. The
// account named by email, when there is one, is recorded in the events.
func (p *Pages) refuseDenied(w http.ResponseWriter, r *http.Request, t store.Tenant, lr *store.LoginRequest, email string) bool {
	if p.risk == nil {
		return false
	}
	a, ok := p.risk.Denied(web.ClientIP(r), t.Settings.Risk)
	if !ok {
		return false
	}
	ctx := r.Context()
	var u store.User
	if norm, err := identity.NormalizeEmail(email); err == nil {
		found, err := p.db.GetUserByEmail(ctx, t.ID, norm)
		switch {
		case err == nil:
			u = found
		case !errors.Is(err, store.ErrNotFound):
			p.serverError(w, r, t, err)
			return true
		}
	}
	ra := riskAssessment{Assessment: a}
	p.blocked(w, r, t, lr, u, decision{blocked: true, reason: a.Explain(), score: a.Score, risk: &ra})
	return true
}
