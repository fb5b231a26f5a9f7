package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/umm-project/umm/internal/store"
)

// personMessage is what the person at the terminal reads when a command fails. Errors that come down from
// the store carry the chain of every layer they passed and the database's own words ("create user: create
// user: conflict: constraint failed: UNIQUE constraint failed: users.tenant_id, users.email_norm (2067)");
// for the store's two sentinels the command knows what was meant and says it in one sentence built from
// its flags. Anything else is shown as it is: it is either already written for people (validation,
// configuration) or an operational failure whose details the operator needs.
func personMessage(c *command, fs *flag.FlagSet, err error) string {
	group, _, _ := strings.Cut(c.name, " ")
	tenant := stringFlag(fs, "tenant")
	ref := stringFlag(fs, "email")
	if ref == "" {
		ref = stringFlag(fs, "id")
	}
	switch {
	case errors.Is(err, store.ErrConflict):
		switch group {
		case "tenants":
			return fmt.Sprintf("a tenant with the id %s already exists (umm tenants list shows the tenants)", ref)
		case "users":
			return fmt.Sprintf("a user with the email %s already exists in tenant %s", ref, tenant)
		case "clients":
			return fmt.Sprintf("a client with the id %s already exists in tenant %s", ref, tenant)
		}
		if group == "webhooks" && stringFlag(fs, "delivery") != "" {
			return fmt.Sprintf("delivery %s of webhook %s is being attempted right now: run the command again once the attempt is over", stringFlag(fs, "delivery"), ref)
		}
		return "it already exists: " + humanPart(err)
	case errors.Is(err, store.ErrNotFound):
		if tenant != "" && strings.Contains(err.Error(), fmt.Sprintf("tenant %q does not exist", tenant)) {
			return fmt.Sprintf("tenant %s does not exist (umm tenants list shows the tenants)", tenant)
		}
		switch group {
		case "tenants":
			return fmt.Sprintf("tenant %s does not exist (umm tenants list shows the tenants)", ref)
		case "users":
			return fmt.Sprintf("tenant %s has no user %s (umm users list --tenant %s shows them)", tenant, ref, tenant)
		case "clients":
			return fmt.Sprintf("tenant %s has no client %s (umm clients list --tenant %s shows them)", tenant, ref, tenant)
		case "webhooks":
			if strings.Contains(err.Error(), "webhook delivery") {
				return fmt.Sprintf("webhook %s has no delivery %s (umm webhooks deliveries --tenant %s --id %s shows them)", ref, stringFlag(fs, "delivery"), tenant, ref)
			}
			return fmt.Sprintf("tenant %s has no webhook %s (umm webhooks list --tenant %s shows them)", tenant, ref, tenant)
		case "invitations":
			return fmt.Sprintf("tenant %s has no invitation %s (umm invitations list --tenant %s shows them)", tenant, stringFlag(fs, "id"), tenant)
		}
		return "not found: " + humanPart(err)
	}
	return err.Error()
}

// humanPart is the message of err without the store sentinel and what the database said below it.
func humanPart(err error) string {
	msg := err.Error()
	for _, s := range []error{store.ErrConflict, store.ErrNotFound} {
		if i := strings.Index(msg, ": "+s.Error()); i > 0 {
			msg = msg[:i]
		}
	}
	return msg
}
