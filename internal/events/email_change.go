package events

import (
	"github.com/umm-project/umm/internal/notify"
	"github.com/umm-project/umm/internal/store"
)

// TypeEmailChanged: a signed-in user replaced their address with a new one, proven with the emailed link
// or code (data "method": "link" or "code"). Neither address is in the event.
const TypeEmailChanged = "email.changed"

// EmailChanged records a user's address replaced by a new one proven by method ("link" or "code").
func EmailChanged(tenantID, userID, method string) store.Event {
	return withData(ev(TypeEmailChanged, tenantID, userID, userID), "method", method)
}

// EmailChangeVerifyEmail asks the new address to, lang, to confirm the change with link or code.
func EmailChangeVerifyEmail(to, lang, link, code string) Email {
	return Email{To: to, Lang: lang, Type: notify.TypeEmailChangeVerify,
		Vars: map[string]string{"link": link, "code": code, "address": to}}
}

// EmailChangeNoticeEmail tells the old address to, lang, that the account's address became newAddress.
func EmailChangeNoticeEmail(to, lang, newAddress string) Email {
	return Email{To: to, Lang: lang, Type: notify.TypeEmailChangeNotice, Vars: map[string]string{"address": newAddress}}
}
