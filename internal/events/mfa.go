package events

import (
	"github.com/umm-project/umm/internal/notify"
	"github.com/umm-project/umm/internal/store"
)

// Event types of strong authentication.
const (
	TypeSessionSteppedUp  = "session.stepped_up"  // a live session proved more factors (step-up)
	TypeMFAChallenged     = "mfa.challenged"      // a second factor was asked for, with why
	TypeMFASucceeded      = "mfa.succeeded"       // a second factor was proven
	TypeMFAFailed         = "mfa.failed"          // a wrong second factor
	TypeFactorEnrolled    = "mfa.factor_enrolled" // a factor was added (confirmed)
	TypeFactorRemoved     = "mfa.factor_removed"  // a factor was removed by its user
	TypeMFAReset          = "mfa.reset"           // an operator removed every factor of a user
	TypeRecoveryCodesNew  = "mfa.recovery_codes_generated"
	TypeRecoveryCodeUsed  = "mfa.recovery_code_used"
	TypeMFADeviceTrusted  = "mfa.device_trusted" // "Remember this device" was ticked
	TypeDeviceForgotten   = "device.forgotten"   // a known device was removed from the account page
	TypeLoginBlocked      = "login.blocked"      // the risk engine or a deny list refused a sign-in
	TypeSessionsEndedByMe = "account.not_me"     // "This wasn't me": every session ended, recovery started
)

// SessionSteppedUp records a step-up of session sessionID to amr and acr.
func SessionSteppedUp(tenantID, userID, sessionID string, amr []string, acr string) store.Event {
	return withData(ev(TypeSessionSteppedUp, tenantID, userID, userID), "sid", sessionID, "amr", amr, "acr", acr)
}

// MFAChallenged records that userID was asked for a second factor; reason says why in words an operator
// reads ("policy required", "new device; new network") and acr is the class asked for.
func MFAChallenged(tenantID, userID, ip, reason, acr string) store.Event {
	e := withData(ev(TypeMFAChallenged, tenantID, userID, userID), "reason", reason, "acr", acr)
	e.IP = ip
	return e
}

// MFASucceeded records a proven second factor of the given method.
func MFASucceeded(tenantID, userID, ip, method string) store.Event {
	e := withData(ev(TypeMFASucceeded, tenantID, userID, userID), "method", method)
	e.IP = ip
	return e
}

// MFAFailed records a wrong second factor of the given method.
func MFAFailed(tenantID, userID, ip, method string) store.Event {
	e := withData(ev(TypeMFAFailed, tenantID, userID, userID), "method", method)
	e.IP = ip
	return e
}

// FactorEnrolled records a new factor of kind (totp, webauthn, email, sms) with id factorID.
func FactorEnrolled(tenantID, userID, factorID, kind string) store.Event {
	return withData(ev(TypeFactorEnrolled, tenantID, userID, userID), "factor_id", factorID, "kind", kind)
}

// FactorRemoved records a factor removed by actor (the user, or an operator).
func FactorRemoved(tenantID, userID, actor, factorID, kind string) store.Event {
	return withData(ev(TypeFactorRemoved, tenantID, actor, userID), "factor_id", factorID, "kind", kind)
}

// MFAReset records that actor removed every factor of userID (n of them).
func MFAReset(tenantID, userID, actor string, n int64) store.Event {
	return withData(ev(TypeMFAReset, tenantID, actor, userID), "factors", n)
}

// RecoveryCodesGenerated records a new set of recovery codes.
func RecoveryCodesGenerated(tenantID, userID string, n int) store.Event {
	return withData(ev(TypeRecoveryCodesNew, tenantID, userID, userID), "codes", n)
}

// RecoveryCodeUsed records that a recovery code signed userID in; left codes remain.
func RecoveryCodeUsed(tenantID, userID, ip string, left int) store.Event {
	e := withData(ev(TypeRecoveryCodeUsed, tenantID, userID, userID), "left", left)
	e.IP = ip
	return e
}

// MFADeviceTrusted records that a browser skips the second factor for days days.
func MFADeviceTrusted(tenantID, userID string, days int) store.Event {
	return withData(ev(TypeMFADeviceTrusted, tenantID, userID, userID), "days", days)
}

// DeviceForgotten records that userID removed one of their known devices.
func DeviceForgotten(tenantID, userID string) store.Event {
	return ev(TypeDeviceForgotten, tenantID, userID, userID)
}

// LoginBlocked records a refused sign-in with the risk score and its reasons in words.
func LoginBlocked(tenantID, userID, ip string, score int, reasons string) store.Event {
	e := withData(ev(TypeLoginBlocked, tenantID, userID, userID), "score", score, "reasons", reasons)
	e.IP = ip
	return e
}

// NotMe records "This wasn't me": every session of userID ended (n of them) and recovery started.
func NotMe(tenantID, userID, ip string, n int) store.Event {
	e := withData(ev(TypeSessionsEndedByMe, tenantID, userID, userID), "sessions", n)
	e.IP = ip
	return e
}

// SignInCodeEmail carries a one-time sign-in code (a second factor) to to, in lang.
func SignInCodeEmail(to, lang, code string) Email {
	return Email{To: to, Lang: lang, Type: notify.TypeSignInCode, Vars: map[string]string{"code": code}}
}

// SignInLinkEmail carries a passwordless sign-in: the link and the same sign-in's code.
func SignInLinkEmail(to, lang, link, code string) Email {
	return Email{To: to, Lang: lang, Type: notify.TypeSignInLink, Vars: map[string]string{"link": link, "code": code}}
}

// NewSignInEmail tells the owner of address that a new device signed in, with the "This wasn't me" link.
func NewSignInEmail(to, lang, device, ip, notMeLink string) Email {
	return Email{To: to, Lang: lang, Type: notify.TypeNewSignIn,
		Vars: map[string]string{"address": to, "device": device, "ip": ip, "not_me_link": notMeLink}}
}
