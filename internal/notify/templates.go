package notify

import (
	"fmt"
	"strings"

	"github.com/umm-project/umm/internal/i18n"
)

// The emails UMM sends. Each is two catalogue messages, email.<name>.subject and email.<name>.body,
// whose fmt verbs take the message's arguments in order.
const (
	// TemplateAccountAttack tells an account's owner that an attack episode started on it (event
	// account.attack_detected). Arguments: the tenant's name, the account's address.
	TemplateAccountAttack = "account_attack"
)

// Render builds template name in lang (English when lang lacks it) for the recipient to. A template the
// catalogue does not know, or arguments that do not fit its verbs, are ErrPermanent: the message as
// queued can never be sent.
func Render(lang, name, to string, args ...string) (Email, error) {
	key := "email." + name
	if !i18n.Builtin.Has(i18n.Default, key+".subject") || !i18n.Builtin.Has(i18n.Default, key+".body") {
		return Email{}, fmt.Errorf("email template %q: unknown: %w", name, ErrPermanent)
	}
	a := make([]any, len(args))
	for i, s := range args {
		a[i] = s
	}
	e := Email{To: to, Subject: i18n.Builtin.Text(lang, key+".subject", a...), Text: i18n.Builtin.Text(lang, key+".body", a...)}
	// fmt marks a missing or extra argument with %!, and without arguments the verbs stay as they are; a
	// notice with such a hole is not sent.
	holes := "%!"
	if len(args) == 0 {
		holes = "%"
	}
	if strings.Contains(e.Subject, holes) || strings.Contains(e.Text, holes) {
		return Email{}, fmt.Errorf("email template %q: %d arguments do not fit: %w", name, len(args), ErrPermanent)
	}
	return e, nil
}
