package events

import (
	"github.com/umm-project/umm/internal/notify"
	"github.com/umm-project/umm/internal/store"
)

// Event types of password recovery (the "Forgot password?" flow).
const (
	// TypePasswordReset: the account's owner set a new password through the recovery flow (data "method":
	// "link" or "code"). password.changed is appended with it, as for every new password.
	TypePasswordReset = "password.reset"
	// TypeRecoveryRequested: a recovery email was queued for an existing account (data "ip").
	TypeRecoveryRequested = "recovery.requested"
)

// ReasonPasswordRecovery is the reason of the session.ended and grant.revoked events written when a user
// completes a password recovery.
const ReasonPasswordRecovery = "password_recovery"

// PasswordReset records a password set through the recovery flow by method ("link" or "code").
func PasswordReset(tenantID, userID, method string) store.Event {
	return withData(ev(TypePasswordReset, tenantID, userID, userID), "method", method)
}

// RecoveryRequested records a recovery email queued for the account.
func RecoveryRequested(tenantID, userID, ip string) store.Event {
	e := withData(ev(TypeRecoveryRequested, tenantID, userID, userID), "ip", ip)
	e.IP = ip
	return e
}

// PasswordResetEmail is the message that lets to, lang, choose a new password with link or code.
func PasswordResetEmail(to, lang, link, code string) Email {
	return Email{To: to, Lang: lang, Type: notify.TypePasswordReset, Vars: map[string]string{"link": link, "code": code}}
}
