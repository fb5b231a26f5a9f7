package login

import (
	"context"
	"net/http"

	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/risk"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// riskAssessment is the risk of one sign-in and whether the password used is a breached one.
type riskAssessment struct {
	risk.Assessment
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
	if p.risk == nil {
		if known {
			return riskAssessment{risk.Assessment{Level: risk.Low}}, nil
		}
		return riskAssessment{risk.Assessment{Level: risk.Medium, Score: 35, Reasons: []risk.Reason{{Code: risk.NewDevice}}}}, nil
	}
	a, err := p.risk.Evaluate(ctx, risk.Attempt{TenantID: t.ID, UserID: u.ID, IP: web.ClientIP(r), DeviceKnown: known,
		BreachedPassword: sig.breached, Now: p.now(), Policy: t.Settings.Risk})
	return riskAssessment{a}, err
}

// riskEvent is the event of a risk decision (allowed, challenged, denied).
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

// recordRiskFailure counts a failed sign-in from the request's address (any account).
func (p *Pages) recordRiskFailure(ctx context.Context, r *http.Request, t store.Tenant) {
	if p.risk == nil {
		return
	}
	if err := p.risk.RecordFailure(ctx, t.ID, web.ClientIP(r), p.now()); err != nil {
		p.log.WarnContext(ctx, "risk: count failure", "tenant", t.ID, "err", err, "request_id", web.RequestIDFrom(ctx))
	}
}
