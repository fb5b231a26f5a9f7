package events

import (
	"github.com/umm-project/umm/internal/store"
)

// Event types. A type is "<object>.<past participle>".
const (
	TypeTenantCreated  = "tenant.created"
	TypeClientUpserted = "client.upserted"
	TypeClientDeleted  = "client.deleted"

	TypeUserCreated      = "user.created"
	TypeUserUpdated      = "user.updated"
	TypeUserDisabled     = "user.disabled"
	TypeUserEnabled      = "user.enabled"
	TypeUserDeleted      = "user.deleted"
	TypePasswordChanged  = "password.changed"
	TypePasswordRehashed = "password.rehashed"
	TypeRolesChanged     = "roles.changed"

	TypeLoginSucceeded = "login.succeeded"
	TypeLoginFailed    = "login.failed"
	TypeAccountLocked  = "account.locked"
	TypeSessionStarted = "session.started"
	TypeSessionEnded   = "session.ended"

	TypeLoginRequestCompleted = "login_request.completed"
	TypeLoginRequestDenied    = "login_request.denied"

	TypeConsentGranted = "consent.granted"
	TypeConsentRevoked = "consent.revoked"

	TypeCodeIssued           = "code.issued"
	TypeGrantCreated         = "grant.created"
	TypeGrantRevoked         = "grant.revoked"
	TypeRefreshReuseDetected = "refresh.reuse_detected"
	TypeDeviceCodeApproved   = "device_code.approved"
	TypeDeviceCodeDenied     = "device_code.denied"
	TypeKeyRotated           = "key.rotated"
)

// Actors that are not users or clients.
const (
	ActorSystem = "system" // background work: rotation, garbage collection, lockouts
	ActorSeed   = "seed"   // the config file's tenants block
	ActorCLI    = "cli"    // umm command-line tools
)

// ClientActor is the actor string of a client acting on its own behalf.
func ClientActor(clientID string) string { return "client:" + clientID }

func ev(typ, tenantID, actor, subject string) store.Event {
	return store.Event{TenantID: tenantID, Type: typ, Actor: actor, Subject: subject}
}

func withData(e store.Event, kv ...any) store.Event {
	e.Data = make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		e.Data[kv[i].(string)] = kv[i+1]
	}
	return e
}

// TenantCreated records a new tenant.
func TenantCreated(tenantID, actor string) store.Event {
	return ev(TypeTenantCreated, tenantID, actor, tenantID)
}

// ClientUpserted records a client created or replaced (never its secret).
func ClientUpserted(tenantID, clientID, actor string) store.Event {
	e := ev(TypeClientUpserted, tenantID, actor, clientID)
	e.ClientID = clientID
	return e
}

// ClientDeleted records a client removed.
func ClientDeleted(tenantID, clientID, actor string) store.Event {
	e := ev(TypeClientDeleted, tenantID, actor, clientID)
	e.ClientID = clientID
	return e
}

// UserCreated records a new account.
func UserCreated(tenantID, userID, actor string) store.Event {
	return ev(TypeUserCreated, tenantID, actor, userID)
}

// UserUpdated records a profile change; fields names what changed ("email", "given_name", ...), not the values.
func UserUpdated(tenantID, userID, actor string, fields []string) store.Event {
	return withData(ev(TypeUserUpdated, tenantID, actor, userID), "fields", fields)
}

// UserDisabled records an account being disabled (its sessions end and its grants are revoked with it).
func UserDisabled(tenantID, userID, actor string) store.Event {
	return ev(TypeUserDisabled, tenantID, actor, userID)
}

// UserEnabled records a disabled account being enabled again.
func UserEnabled(tenantID, userID, actor string) store.Event {
	return ev(TypeUserEnabled, tenantID, actor, userID)
}

// UserDeleted records an account removed.
func UserDeleted(tenantID, userID, actor string) store.Event {
	return ev(TypeUserDeleted, tenantID, actor, userID)
}

// PasswordChanged records a password set or changed (never the password or its hash).
func PasswordChanged(tenantID, userID, actor string) store.Event {
	return ev(TypePasswordChanged, tenantID, actor, userID)
}

// PasswordRehashed records a stored hash upgraded to the current argon2id parameters at sign-in.
func PasswordRehashed(tenantID, userID string) store.Event {
	return ev(TypePasswordRehashed, tenantID, ActorSystem, userID)
}

// RolesChanged records the user's new set of roles.
func RolesChanged(tenantID, userID, actor string, roles []string) store.Event {
	if roles == nil {
		roles = []string{}
	}
	return withData(ev(TypeRolesChanged, tenantID, actor, userID), "roles", roles)
}

// LoginSucceeded records a user signing in and the session it started.
func LoginSucceeded(tenantID, userID, sessionID, ip string, amr []string, acr string) store.Event {
	e := withData(ev(TypeLoginSucceeded, tenantID, userID, userID), "sid", sessionID, "amr", amr, "acr", acr)
	e.IP = ip
	return e
}

// Reasons for LoginFailed.
const (
	ReasonBadPassword = "bad_password" // known account, wrong password
	ReasonUnknownUser = "unknown_user" // no account with that identifier (userID is empty)
	ReasonDisabled    = "disabled"     // the account is disabled
	ReasonNoPassword  = "no_password"  // the account has no password credential
)

// LoginFailed records a failed sign-in; userID is empty when no account matched. The identifier typed is
// not recorded (it may be a password typed into the wrong field).
func LoginFailed(tenantID, userID, ip, reason string) store.Event {
	e := withData(ev(TypeLoginFailed, tenantID, "", userID), "reason", reason)
	e.IP = ip
	return e
}

// SessionStarted records a browser session (subject: the sid).
func SessionStarted(tenantID, userID, sessionID, ip string) store.Event {
	e := withData(ev(TypeSessionStarted, tenantID, userID, sessionID), "user_id", userID)
	e.IP = ip
	return e
}

// Reasons for SessionEnded.
const (
	ReasonLogout   = "logout"   // the user signed out in this browser
	ReasonReplaced = "replaced" // a new sign-in in the same browser replaced it
	ReasonRevoked  = "revoked"  // ended from the account page, the admin or by disabling the user
)

// SessionEnded records a session ended by actor (subject: the sid).
func SessionEnded(tenantID, userID, sessionID, actor, reason string) store.Event {
	return withData(ev(TypeSessionEnded, tenantID, actor, sessionID), "user_id", userID, "reason", reason)
}

// LoginRequestCompleted records the hosted pages handing a signed-in user back to the protocol surface.
func LoginRequestCompleted(tenantID, requestID, userID, clientID string, scopes []string) store.Event {
	e := withData(ev(TypeLoginRequestCompleted, tenantID, userID, requestID), "user_id", userID, "scopes", scopes)
	e.ClientID = clientID
	return e
}

// LoginRequestDenied records the user refusing a client's request.
func LoginRequestDenied(tenantID, requestID, userID, clientID string) store.Event {
	e := withData(ev(TypeLoginRequestDenied, tenantID, userID, requestID), "user_id", userID)
	e.ClientID = clientID
	return e
}

// ConsentGranted records the scopes a user allowed a client (the merged total).
func ConsentGranted(tenantID, userID, clientID string, scopes []string) store.Event {
	e := withData(ev(TypeConsentGranted, tenantID, userID, userID), "scopes", scopes)
	e.ClientID = clientID
	return e
}

// ConsentRevoked records a user's consent for a client withdrawn.
func ConsentRevoked(tenantID, userID, clientID, actor string) store.Event {
	e := ev(TypeConsentRevoked, tenantID, actor, userID)
	e.ClientID = clientID
	return e
}

// CodeIssued records an authorization code minted for a grant (never the code).
func CodeIssued(tenantID, userID, clientID, grantID string) store.Event {
	e := withData(ev(TypeCodeIssued, tenantID, userID, grantID), "user_id", userID)
	e.ClientID = clientID
	return e
}

// GrantCreated records a grant (subject: the grant id).
func GrantCreated(tenantID, userID, clientID, grantID string, scopes []string) store.Event {
	e := withData(ev(TypeGrantCreated, tenantID, userID, grantID), "user_id", userID, "scopes", scopes)
	e.ClientID = clientID
	return e
}

// GrantRevoked records a grant revoked by actor for reason ("consent_revoked", "user_disabled",
// "user_deleted", "revocation_endpoint", "refresh_reuse", ...).
func GrantRevoked(tenantID, userID, clientID, grantID, actor, reason string) store.Event {
	e := withData(ev(TypeGrantRevoked, tenantID, actor, grantID), "user_id", userID, "reason", reason)
	e.ClientID = clientID
	return e
}

// RefreshReuseDetected records a used refresh token presented again (RFC 9700 §4.14.2); the grant is revoked.
func RefreshReuseDetected(tenantID, userID, clientID, grantID string) store.Event {
	e := withData(ev(TypeRefreshReuseDetected, tenantID, ClientActor(clientID), grantID), "user_id", userID)
	e.ClientID = clientID
	return e
}

// DeviceCodeApproved records a user approving a device authorization request.
func DeviceCodeApproved(tenantID, userID, clientID string) store.Event {
	e := ev(TypeDeviceCodeApproved, tenantID, userID, userID)
	e.ClientID = clientID
	return e
}

// DeviceCodeDenied records a user denying a device authorization request.
func DeviceCodeDenied(tenantID, userID, clientID string) store.Event {
	e := ev(TypeDeviceCodeDenied, tenantID, userID, userID)
	e.ClientID = clientID
	return e
}

// KeyRotated records a signing-key rotation (subject: the new current kid).
func KeyRotated(tenantID, kid, alg, actor string) store.Event {
	return withData(ev(TypeKeyRotated, tenantID, actor, kid), "alg", alg)
}
