package events

import (
	"time"

	"github.com/umm-project/umm/internal/store"
)

// Event types of brute-force protection and known devices.
const (
	// TypeLoginThrottled: a failure used up a sign-in budget (data "budget"); further attempts within it are
	// refused, answered exactly like a wrong password, and counted without an event row each.
	TypeLoginThrottled = "login.throttled"
	// TypeAccountAttackDetected starts an attack episode on an account: the account-wide count of failures
	// from unknown browsers reached security.account_attack_threshold. It is written once per episode (the
	// episode ends when the count starts again after security.account_failure_window, or at an unlock), so
	// a notifier that sends one email per such event sends exactly one per episode.
	TypeAccountAttackDetected = "account.attack_detected"
	// TypeAccountUnlocked: an operator, a password reset or a completed recovery lifted the account's locks.
	TypeAccountUnlocked = "account.unlocked"
	// TypeDeviceRemembered: a browser signed in to the account for the first time and got its device cookie.
	TypeDeviceRemembered = "device.remembered"
)

// Budgets of sign-in failures, named in the data of login.throttled, account.locked and
// account.attack_detected.
const (
	BudgetIP        = "ip"         // one client IP (IPv6: its /64) across accounts, per minute
	BudgetAccountIP = "account_ip" // one account from one client IP
	BudgetDevice    = "device"     // one account from a browser that signed in to it before
	BudgetAccount   = "account"    // one account from every unknown browser together (the hard lock)
)

// Reasons of account.unlocked.
const (
	UnlockOperator         = "operator"          // umm users unlock
	UnlockEnabled          = "enabled"           // umm users enable
	UnlockPasswordReset    = "password_reset"    // an operator set a new password
	UnlockPasswordRecovery = "password_recovery" // the user completed a password recovery
)

// LoginThrottled records a budget used up by the failure that reached its limit. userID is empty for the
// per-IP budget and for an address without an account; until is when the budget allows attempts again.
func LoginThrottled(tenantID, userID, ip, budget string, failures int, until time.Time) store.Event {
	e := withData(ev(TypeLoginThrottled, tenantID, ActorSystem, userID), "budget", budget, "failures", failures,
		"until", until.Unix())
	e.IP = ip
	return e
}

// AccountHardLocked records the account-wide lock (account.locked with budget "account"): unknown browsers
// cannot sign in until a password recovery or an operator lifts it.
func AccountHardLocked(tenantID, userID, ip string, failures int) store.Event {
	e := withData(ev(TypeAccountLocked, tenantID, ActorSystem, userID), "budget", BudgetAccount, "failures", failures,
		"until", int64(0))
	e.IP = ip
	return e
}

// AccountAttackDetected records the start of an attack episode on userID's account.
func AccountAttackDetected(tenantID, userID, ip string, failures int) store.Event {
	e := withData(ev(TypeAccountAttackDetected, tenantID, ActorSystem, userID), "budget", BudgetAccount, "failures", failures)
	e.IP = ip
	return e
}

// AccountUnlocked records the account's locks and counts lifted by actor for reason.
func AccountUnlocked(tenantID, userID, actor, reason string) store.Event {
	return withData(ev(TypeAccountUnlocked, tenantID, actor, userID), "reason", reason)
}

// DeviceRemembered records a browser that signed in to userID's account for the first time (never the
// device id).
func DeviceRemembered(tenantID, userID, ip string) store.Event {
	e := ev(TypeDeviceRemembered, tenantID, userID, userID)
	e.IP = ip
	return e
}
