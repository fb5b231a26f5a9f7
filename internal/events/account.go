package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/umm-project/umm/internal/notify"
	"github.com/umm-project/umm/internal/store"
)

// ReasonPasswordChanged is the reason of the session.ended and grant.revoked events written when a user
// changes their own password on the account page (identity.Service.ChangePassword).
const ReasonPasswordChanged = "password_changed"

// EnqueuePasswordChangedNotice writes, in tx, the email that tells userID's owner that the account's
// password was changed (notify.TypePasswordChanged), in lang. As with the attack notice, only a verified
// address is told; a user without one, or deleted since, gets nothing.
func EnqueuePasswordChangedNotice(ctx context.Context, tx *store.Tx, seal SealFunc, tenantID, userID, lang string, now time.Time) error {
	u, err := tx.GetUser(ctx, tenantID, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("enqueue password changed notice: %w", err)
	}
	if u.Email == "" || !u.EmailVerified {
		return nil
	}
	return EnqueueEmail(ctx, tx, seal, tenantID, userID, Email{To: u.Email, Lang: lang, Type: notify.TypePasswordChanged,
		Vars: map[string]string{"address": u.Email}}, now)
}
