package events

import "github.com/umm-project/umm/internal/store"

// TypeProfileSkipped: the user chose "Skip for now" on the complete-profile page for fields the tenant
// asks for after some sign-ins (data "fields", "sign_ins": the count at the skip).
const TypeProfileSkipped = "profile.skipped"

// ProfileSkipped records the user skipping progressive profile fields at their signIns-th sign-in.
func ProfileSkipped(tenantID, userID string, fields []string, signIns int) store.Event {
	return withData(ev(TypeProfileSkipped, tenantID, userID, userID), "fields", fields, "sign_ins", signIns)
}
