package events

import (
	"context"
	"time"

	"github.com/umm-project/umm/internal/notify"
	"github.com/umm-project/umm/internal/store"
)

// Event types of invitations (identity.Service: CreateInvitation, ResendInvitation, RevokeInvitation,
// AcceptInvitation). The subject is the invitation id; the address and link token are never recorded.
const (
	TypeInvitationCreated  = "invitation.created"
	TypeInvitationResent   = "invitation.resent"
	TypeInvitationRevoked  = "invitation.revoked"
	TypeInvitationAccepted = "invitation.accepted"
)

// InvitationCreated records an invitation made, with the roles it gives and the client it leads to.
func InvitationCreated(tenantID, invitationID, actor string, roles []string, clientID string) store.Event {
	if roles == nil {
		roles = []string{}
	}
	e := withData(ev(TypeInvitationCreated, tenantID, actor, invitationID), "roles", roles)
	e.ClientID = clientID
	return e
}

// InvitationResent records a new link sent for an invitation (the previous link stopped working).
func InvitationResent(tenantID, invitationID, actor string) store.Event {
	return ev(TypeInvitationResent, tenantID, actor, invitationID)
}

// InvitationRevoked records an invitation withdrawn.
func InvitationRevoked(tenantID, invitationID, actor string) store.Event {
	return ev(TypeInvitationRevoked, tenantID, actor, invitationID)
}

// InvitationAccepted records an invitation accepted by the account userID created from it.
func InvitationAccepted(tenantID, invitationID, userID string) store.Event {
	return withData(ev(TypeInvitationAccepted, tenantID, userID, invitationID), "user_id", userID)
}

// EnqueueInvitation writes, in tx, the invitation email in lang to the address to with link, the
// single-use link that accepts it; inviter names who invites. The invitee has no account yet, so the
// message belongs to no user.
func EnqueueInvitation(ctx context.Context, tx *store.Tx, seal SealFunc, tenantID, to, inviter, lang, link string, now time.Time) error {
	return EnqueueEmail(ctx, tx, seal, tenantID, "", Email{To: to, Lang: lang, Type: notify.TypeInvitation,
		Vars: map[string]string{"inviter": inviter, "link": link}}, now)
}
