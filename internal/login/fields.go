package login

import (
	"github.com/umm-project/umm/internal/i18n"
	"github.com/umm-project/umm/internal/identity"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/web"
)

// The profile forms (registration, the account console's profile, accepting an invitation) share their
// words: a field's label, a validation error and a password refusal read the same on every page.

// fieldLabel is a field's label in the page's language: the schema's label, else the catalogue's text
// for email, password and the standard claims (field.<name>), else the schema's English label, else the
// field's name.
func fieldLabel(pd web.PageData, f identity.FormField) string {
	if l := f.Label[pd.Lang]; l != "" {
		return l
	}
	if key := "field." + f.Name; i18n.Builtin.Has(i18n.Default, key) {
		return pd.T(key)
	}
	if l := f.Label[i18n.Default]; l != "" {
		return l
	}
	return f.Name
}

// fieldErrorText is a validation error of identity.ValidateProfile in plain words in the page's language
// (field.error.<code>, with the limit when the code has one).
func fieldErrorText(pd web.PageData, e identity.FieldError) string {
	key := "field.error." + e.Code
	if !i18n.Builtin.Has(i18n.Default, key) {
		key = "field.error.invalid"
	}
	if e.Param != "" {
		return pd.T(key, e.Param)
	}
	return pd.T(key)
}

// passwordReasonText says in plain words, in the page's language, why the tenant's policy refused a
// password (password.reason.<reason>).
func passwordReasonText(pd web.PageData, t store.Tenant, reason string) string {
	policy := t.Settings.PasswordPolicy
	switch reason {
	case identity.ReasonTooShort:
		return pd.T("password.reason.too_short", policy.MinLengthOrDefault())
	case identity.ReasonTooLong:
		return pd.T("password.reason.too_long", identity.MaxPasswordLen)
	case identity.ReasonReused:
		return pd.T("password.reason.reused", policy.History)
	case identity.ReasonContainsEmail, identity.ReasonBreached, identity.ReasonInvalidText:
		return pd.T("password.reason." + reason)
	}
	return pd.T("password.reason.other")
}

// refusal is why a form was refused: a message key with its arguments, shown beside field (and as the
// form's error) or, without a field, above the form. The zero refusal refuses nothing. Pages take one
// rather than texts, so the message is put in the page's own language when it is rendered.
type refusal struct {
	field, key string
	args       []any
}

// refuse is the refusal of field (empty: the whole form) for the message key with args.
func refuse(field, key string, args ...any) refusal {
	return refusal{field: field, key: key, args: args}
}

// apply shows f on pd, in pd's language.
func (f refusal) apply(pd *web.PageData) {
	if f.key == "" {
		return
	}
	msg := pd.T(f.key, f.args...)
	if f.field != "" {
		pd.FieldErrors = map[string]string{f.field: msg}
	}
	pd.Error = msg
}
