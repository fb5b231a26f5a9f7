package events

import "github.com/umm-project/umm/internal/store"

// TypeRiskAssessed records the risk score of a sign-in attempt and what the caller decided with it.
const TypeRiskAssessed = "risk.assessed"

// Decisions of risk.assessed: what the sign-in did with the score.
const (
	RiskAllowed    = "allowed"    // signed in with what was given
	RiskChallenged = "challenged" // a second factor was asked
	RiskDenied     = "denied"     // refused
	RiskFailed     = "failed"     // the password or code given was wrong
)

// RiskAssessed records a sign-in attempt's risk assessment: the score (0-100), its level (low, medium,
// high), the caller's decision, the codes of the signals that fired (new_device, ip_failures, ...) and
// their plain-words explanation. userID is empty for an address without an account.
func RiskAssessed(tenantID, userID, ip string, score int, level, decision string, reasons []string, explain string) store.Event {
	if reasons == nil {
		reasons = []string{}
	}
	e := withData(ev(TypeRiskAssessed, tenantID, ActorSystem, userID), "score", score, "level", level,
		"decision", decision, "reasons", reasons, "explain", explain)
	e.IP = ip
	return e
}
