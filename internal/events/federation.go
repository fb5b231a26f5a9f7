package events

import "github.com/umm-project/umm/internal/store"

// Federation: upstream identity providers and the identities linked through them.
const (
	TypeConnectionUpserted = "connection.upserted" // a connection was created or changed
	TypeConnectionDeleted  = "connection.deleted"
	TypeIdentityLinked     = "identity.linked"   // an upstream identity was linked to a user
	TypeIdentityUnlinked   = "identity.unlinked" // a linked identity was removed
	TypeLinkRefused        = "identity.link_refused"
	TypeDirectorySynced    = "connection.synced" // a directory sync ran
	TypeSAMLResponseSent   = "saml.response_sent"
)

// ConnectionUpserted records that actor created or changed connection id of type typ.
func ConnectionUpserted(tenantID, actor, id, typ string) store.Event {
	return withData(ev(TypeConnectionUpserted, tenantID, actor, ""), "connection", id, "type", typ)
}

// ConnectionDeleted records that actor removed connection id (and the identities linked through it).
func ConnectionDeleted(tenantID, actor, id string) store.Event {
	return withData(ev(TypeConnectionDeleted, tenantID, actor, ""), "connection", id)
}

// IdentityLinked records that userID's account now signs in through connection as subject; how says
// what allowed the link (created: a new account; proved_password, proved_passkey, proved_email_code:
// the person proved the existing account; trusted_email: the connection trusts the upstream's
// verified address).
func IdentityLinked(tenantID, actor, userID, connection, subject, how string) store.Event {
	return withData(ev(TypeIdentityLinked, tenantID, actor, userID), "connection", connection, "upstream_subject", subject, "how", how)
}

// IdentityUnlinked records that actor removed userID's identity at connection.
func IdentityUnlinked(tenantID, actor, userID, connection, subject string) store.Event {
	return withData(ev(TypeIdentityUnlinked, tenantID, actor, userID), "connection", connection, "upstream_subject", subject)
}

// LinkRefused records that an upstream identity matching userID's address was not linked, and why
// (declined, proof_failed, expired).
func LinkRefused(tenantID, userID, ip, connection, reason string) store.Event {
	e := withData(ev(TypeLinkRefused, tenantID, "", userID), "connection", connection, "reason", reason)
	e.IP = ip
	return e
}

// DirectorySynced records a directory sync of connection: entries read, users updated and disabled.
func DirectorySynced(tenantID, actor, connection string, read, updated, disabled int) store.Event {
	return withData(ev(TypeDirectorySynced, tenantID, actor, ""), "connection", connection, "read", read,
		"updated", updated, "disabled", disabled)
}
