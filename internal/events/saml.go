package events

import "github.com/umm-project/umm/internal/store"

// SAML IdP: the service providers a tenant signs users in to, and the assertions it sends them.
const (
	TypeSAMLAppUpserted = "saml_app.upserted" // a SAML app was created or changed
	TypeSAMLAppDeleted  = "saml_app.deleted"
)

// SAMLAppUpserted records that actor created or changed the SAML app with entityID.
func SAMLAppUpserted(tenantID, actor, entityID string) store.Event {
	return withData(ev(TypeSAMLAppUpserted, tenantID, actor, ""), "entity_id", entityID)
}

// SAMLAppDeleted records that actor removed the SAML app with entityID.
func SAMLAppDeleted(tenantID, actor, entityID string) store.Event {
	return withData(ev(TypeSAMLAppDeleted, tenantID, actor, ""), "entity_id", entityID)
}

// SAMLResponseSent records that userID, signed in with sessionID, was sent an assertion for the SAML app
// entityID; idpInitiated tells a sign-in started at UMM from one the app asked for.
func SAMLResponseSent(tenantID, userID, sessionID, entityID, ip string, idpInitiated bool) store.Event {
	e := withData(ev(TypeSAMLResponseSent, tenantID, userID, userID), "entity_id", entityID, "session_id", sessionID,
		"idp_initiated", idpInitiated)
	e.IP = ip
	return e
}
