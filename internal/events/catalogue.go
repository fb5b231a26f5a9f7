package events

// EventType is one entry of the event catalogue: a type and what it records.
type EventType struct {
	Type        string `json:"type"`
	Description string `json:"description"`
}

// TypeKeyCreated is written by package keys (which cannot import events) when it generates a signing key.
const TypeKeyCreated = "key.created"

// catalogue lists every event type UMM writes, grouped by object. Webhook subscriptions are checked
// against it, and docs/EVENTS.md shows it.
var catalogue = []EventType{
	{TypeTenantCreated, "A tenant was created."},
	{TypeTenantUpdated, "A tenant's name or settings changed."},
	{TypeTenantDeleted, "A tenant was deleted with everything in it."},

	{TypeClientUpserted, "A client was created or replaced (never its secret)."},
	{TypeClientDeleted, "A client was deleted; its grants were revoked."},
	{TypeClientSecretRotated, "A client's secret was rotated."},

	{TypeUserCreated, "An account was created by an operator, an import or a sign-in from an upstream provider."},
	{TypeUserRegistered, "A person registered an account on the hosted pages."},
	{TypeUserUpdated, "A user's profile changed; data.fields names the fields, not their values."},
	{TypeUserDisabled, "An account was disabled; its sessions ended and its grants were revoked."},
	{TypeUserEnabled, "A disabled account was enabled again."},
	{TypeUserDeleted, "An account was deleted."},
	{TypeRolesChanged, "A user's roles were replaced; data.roles is the new set."},
	{TypeEmailVerified, "A user proved an email address."},
	{TypeEmailChanged, "A user's email address changed."},
	{TypeVerificationSent, "An email verification message was sent."},
	{TypeProfileSkipped, "A user postponed completing optional profile fields."},

	{TypePasswordChanged, "A password was set or changed (never the password)."},
	{TypePasswordRehashed, "A stored password hash was upgraded at sign-in."},
	{TypePasswordReset, "A password was reset through account recovery."},
	{TypeRecoveryRequested, "Account recovery was asked for."},

	{TypeLoginSucceeded, "A user signed in; data carries the session id, amr and acr."},
	{TypeLoginFailed, "A sign-in failed; data.reason says why."},
	{TypeLoginThrottled, "Sign-in attempts were slowed down by the rate limits."},
	{TypeLoginBlocked, "The risk engine or a deny list refused a sign-in."},
	{TypeRiskAssessed, "A sign-in attempt was scored by the risk engine."},
	{TypeAccountLocked, "An account was locked after repeated failed sign-ins."},
	{TypeAccountUnlocked, "A locked account was unlocked."},
	{TypeAccountAttackDetected, "Many failed sign-ins on one account from many places suggest an attack."},
	{TypeSessionsEndedByMe, "A user said a sign-in was not theirs: every session ended and recovery started."},
	{TypeDeviceRemembered, "A browser became a known device of an account."},
	{TypeDeviceForgotten, "A known device was removed from an account."},

	{TypeSessionStarted, "A browser session started (subject: the session id)."},
	{TypeSessionEnded, "A browser session ended; data.reason says why."},
	{TypeSessionSteppedUp, "A live session proved more factors (step-up)."},

	{TypeMFAChallenged, "A second factor was asked for, with why."},
	{TypeMFASucceeded, "A second factor was proven."},
	{TypeMFAFailed, "A wrong second factor was given."},
	{TypeFactorEnrolled, "A second factor was added."},
	{TypeFactorRemoved, "A user removed one of their second factors."},
	{TypeMFAReset, "An operator removed every second factor of a user."},
	{TypeRecoveryCodesNew, "A user generated new recovery codes."},
	{TypeRecoveryCodeUsed, "A recovery code was used in place of a second factor."},
	{TypeMFADeviceTrusted, "A user asked not to be asked for a second factor on this device."},

	{TypeLoginRequestCompleted, "The hosted pages handed a signed-in user back to an application."},
	{TypeLoginRequestDenied, "A user refused an application's request."},
	{TypeConsentGranted, "A user allowed an application scopes."},
	{TypeConsentRevoked, "A user's consent for an application was withdrawn."},
	{TypeCodeIssued, "An authorization code was issued (never the code)."},
	{TypeGrantCreated, "A grant was created for a user and a client."},
	{TypeGrantRevoked, "A grant was revoked; data.reason says why."},
	{TypeTokenRefreshed, "A refresh token was used to obtain new tokens."},
	{TypeRefreshReuseDetected, "A used refresh token was presented again; its grant was revoked."},
	{TypeAccessTokenRevoked, "An access token was revoked."},
	{TypeDeviceCodeIssued, "A device authorization request was started."},
	{TypeDeviceCodeApproved, "A user approved a device authorization request."},
	{TypeDeviceCodeDenied, "A user denied a device authorization request."},

	{TypeKeyCreated, "A signing key was generated."},
	{TypeKeyRotated, "The signing keys were rotated (subject: the new current key id)."},
	{TypeKeyRevoked, "A signing key was revoked and left the JWKS."},
	{TypeMasterKeyRotated, "Secrets at rest were sealed again under a new master key."},

	{TypeInvitationCreated, "A person was invited to create an account."},
	{TypeInvitationResent, "An invitation was sent again."},
	{TypeInvitationRevoked, "An invitation was withdrawn."},
	{TypeInvitationAccepted, "An invitation was accepted."},

	{TypeConnectionUpserted, "An upstream identity provider connection was created or changed."},
	{TypeConnectionDeleted, "An upstream identity provider connection was deleted."},
	{TypeDirectorySynced, "A directory sync ran."},
	{TypeIdentityLinked, "An upstream identity was linked to a user."},
	{TypeIdentityUnlinked, "A linked upstream identity was removed."},
	{TypeLinkRefused, "Linking an upstream identity to an existing account was refused."},

	{TypeSAMLAppUpserted, "A SAML application was created or changed."},
	{TypeSAMLAppDeleted, "A SAML application was deleted."},
	{TypeSAMLResponseSent, "A SAML response was sent to an application."},

	{TypeOutboxDelivered, "A message (email, SMS, back-channel logout) was delivered."},
	{TypeOutboxFailed, "A message could not be delivered and was given up."},

	{TypeWebhookCreated, "A webhook subscription was created."},
	{TypeWebhookUpdated, "A webhook subscription's settings changed."},
	{TypeWebhookDeleted, "A webhook subscription was deleted."},
	{TypeWebhookSecretRotated, "A webhook subscription's signing secret was rotated."},
	{TypeWebhookDisabled, "A webhook subscription was turned off after its deliveries kept failing."},
	{TypeWebhookRedelivered, "A webhook delivery was asked again."},

	{TypeAPICreated, "An API (resource server) was created with its permissions."},
	{TypeAPIUpdated, "An API's name, permissions, token lifetime or claims changed."},
	{TypeAPIDeleted, "An API was deleted; roles no longer grant its permissions."},
	{TypeRoleCreated, "A role was created."},
	{TypeRoleUpdated, "A role's description or permissions changed."},
	{TypeRoleDeleted, "A role was deleted; nobody holds it any more."},
	{TypeGroupCreated, "A group was created."},
	{TypeGroupUpdated, "A group's name, description or roles changed."},
	{TypeGroupDeleted, "A group was deleted; its members lost the roles it gave."},
	{TypeGroupMemberAdded, "A user joined a group."},
	{TypeGroupMemberRemoved, "A user left a group."},
	{TypeOrganizationCreated, "An organization was created."},
	{TypeOrganizationUpdated, "An organization's name, display name, branding or connections changed."},
	{TypeOrganizationDeleted, "An organization was deleted with its memberships."},
	{TypeOrganizationMemberAdded, "A user became a member of an organization (by an operator, an invitation or a sign-in through its connection)."},
	{TypeOrganizationMemberRemoved, "A user stopped being a member of an organization."},
	{TypeOrganizationMemberRolesChanged, "A member's roles in an organization changed."},
}

// Catalogue returns every event type with its description, in the catalogue's order.
func Catalogue() []EventType {
	return append([]EventType(nil), catalogue...)
}

// KnownType reports whether typ is in the catalogue.
func KnownType(typ string) bool {
	for _, e := range catalogue {
		if e.Type == typ {
			return true
		}
	}
	return false
}
