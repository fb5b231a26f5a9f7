package events

import "github.com/umm-project/umm/internal/store"

// Event types of the token endpoint's own state changes (grants and refresh reuse are in events.go).
const (
	TypeTokenRefreshed     = "token.refreshed"
	TypeAccessTokenRevoked = "access_token.revoked"
	TypeDeviceCodeIssued   = "device_code.issued"
)

// TokenRefreshed records a refresh token rotated: the old one used, a new one of the same family (the
// grant, subject) issued.
func TokenRefreshed(tenantID, userID, clientID, grantID string) store.Event {
	e := withData(ev(TypeTokenRefreshed, tenantID, ClientActor(clientID), grantID), "user_id", userID)
	e.ClientID = clientID
	return e
}

// AccessTokenRevoked records an access token revoked at the revocation endpoint by its client (subject:
// the token's jti, never the token).
func AccessTokenRevoked(tenantID, clientID, jti string) store.Event {
	e := ev(TypeAccessTokenRevoked, tenantID, ClientActor(clientID), jti)
	e.ClientID = clientID
	return e
}

// DeviceCodeIssued records a device authorization request (never the device or user code).
func DeviceCodeIssued(tenantID, clientID string, scopes []string) store.Event {
	if scopes == nil {
		scopes = []string{}
	}
	e := withData(ev(TypeDeviceCodeIssued, tenantID, ClientActor(clientID), clientID), "scopes", scopes)
	e.ClientID = clientID
	return e
}
