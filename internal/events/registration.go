package events

import (
	"github.com/umm-project/umm/internal/notify"
	"github.com/umm-project/umm/internal/store"
)

// Event types of self-registration and address verification.
const (
	// TypeUserRegistered: a person created an account on the registration page (data "ip").
	TypeUserRegistered = "user.registered"
	// TypeEmailVerified: the account's address was proven with the emailed link or code (data "method":
	// "link" or "code").
	TypeEmailVerified = "email.verified"
	// TypeVerificationSent: a verification email was queued for an unverified account that signed in.
	TypeVerificationSent = "verification.sent"
)

// ReasonUnverified is the data "reason" of user.deleted when garbage collection deletes a self-registered
// account that never verified its address within registration.unverified_retention.
const ReasonUnverified = "unverified"

// UserRegistered records an account created by its owner on the registration page.
func UserRegistered(tenantID, userID, ip string) store.Event {
	e := withData(ev(TypeUserRegistered, tenantID, userID, userID), "ip", ip)
	e.IP = ip
	return e
}

// EmailVerified records an address proven by method ("link" or "code").
func EmailVerified(tenantID, userID, method string) store.Event {
	return withData(ev(TypeEmailVerified, tenantID, userID, userID), "method", method)
}

// VerificationSent records a fresh verification code sent to an unverified account at sign-in.
func VerificationSent(tenantID, userID, ip string) store.Event {
	e := withData(ev(TypeVerificationSent, tenantID, userID, userID), "ip", ip)
	e.IP = ip
	return e
}

// UnverifiedUserDeleted records garbage collection deleting a self-registered account that never
// verified its address.
func UnverifiedUserDeleted(tenantID, userID string) store.Event {
	return withData(ev(TypeUserDeleted, tenantID, ActorSystem, userID), "reason", ReasonUnverified)
}

// VerifyEmail is the message that asks to, lang, to confirm the address with link or code.
func VerifyEmail(to, lang, link, code string) Email {
	return Email{To: to, Lang: lang, Type: notify.TypeVerifyEmail, Vars: map[string]string{"link": link, "code": code}}
}

// AlreadyRegisteredEmail answers a registration with an address that has an account: it tells the
// account's owner (to, lang) where to sign in or reset the password, and carries no code.
func AlreadyRegisteredEmail(to, lang, signInLink, resetLink string) Email {
	return Email{To: to, Lang: lang, Type: notify.TypeAlreadyRegistered,
		Vars: map[string]string{"address": to, "sign_in_link": signInLink, "reset_link": resetLink}}
}
