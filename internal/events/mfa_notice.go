package events

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/umm-project/umm/internal/notify"
	"github.com/umm-project/umm/internal/store"
)

// EnqueueRecoveryCodeUsedNotice writes, in tx, the email that tells userID's owner that one of the
// account's recovery codes was used to sign in, and how many are left (notify.TypeRecoveryCodeUsed), in
// lang, else the language of the user's locale. A code used by someone else is how a stolen sheet of codes
// shows. As with every notice, only a verified address is told; a user without one, or deleted since, gets
// nothing.
func EnqueueRecoveryCodeUsedNotice(ctx context.Context, tx *store.Tx, seal SealFunc, tenantID, userID, lang string, left int, now time.Time) error {
	u, err := tx.GetUser(ctx, tenantID, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("enqueue recovery code notice: %w", err)
	}
	if u.Email == "" || !u.EmailVerified {
		return nil
	}
	if lang == "" {
		lang = userLanguage(u)
	}
	return EnqueueEmail(ctx, tx, seal, tenantID, userID, Email{To: u.Email, Lang: lang, Type: notify.TypeRecoveryCodeUsed,
		Vars: map[string]string{"address": u.Email, "left": strconv.Itoa(left)}}, now)
}
