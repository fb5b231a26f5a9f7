package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/server"
)

func webhooksCreateCommand() *command {
	return &command{
		name:  "webhooks create",
		short: "subscribe a URL to a tenant's events (prints the signing secret once)",
		summary: `Subscribe an https URL to a tenant's events: UMM POSTs each event of the given types to it, signed as
the Standard Webhooks specification says (docs/EVENTS.md). Without --event-type every event is sent. The
signing secret (whsec_...) is printed once: UMM keeps it sealed and never shows it again. Plain http and
private or loopback addresses are refused unless webhooks.allow_private_targets is on.`,
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
			fs.String("url", "", "the `URL` that receives the events (required)")
			fs.Var(new(listFlag), "event-type", "event `type` to deliver, such as user.created (repeatable or comma-separated; default: every event)")
			fs.String("description", "", "what the subscription is for (`text`)")
			fs.Bool("disabled", false, "create it turned off (turn it on with umm webhooks update --enabled)")
		},
		required: []string{"tenant", "url"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			enabled := stringFlag(fs, "disabled") != "true"
			in := admin.WebhookInput{URL: stringFlag(fs, "url"), EventTypes: listValue(fs, "event-type"),
				Description: stringFlag(fs, "description"), Enabled: &enabled}
			tenant := stringFlag(fs, "tenant")
			return withServices(ctx, e, fs, func(s *server.Services) error {
				w, secret, err := s.Admin.CreateWebhook(ctx, tenant, in, actorCLI)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "created webhook %s in tenant %s: %s (%s)\n", w.ID, tenant, w.URL, eventTypesText(w.EventTypes))
				printWebhookSecret(e, secret)
				return nil
			})
		},
	}
}

// printWebhookSecret shows a subscription's signing secret, the only time it is shown.
func printWebhookSecret(e *env, secret string) {
	fmt.Fprintf(e.stdout, "secret: %s\n", secret)
	fmt.Fprintln(e.stderr, "Store the signing secret now: it is not shown again. Receivers verify each delivery with it.")
}

func eventTypesText(types []string) string {
	if len(types) == 0 {
		return "every event"
	}
	return strings.Join(types, ",")
}

func webhooksListCommand() *command {
	return &command{
		name:    "webhooks list",
		short:   "list a tenant's webhook subscriptions",
		summary: "List a tenant's webhook subscriptions, with why UMM turned off those whose deliveries kept failing.\nNo secret is shown.",
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
		},
		required: []string{"tenant"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			tenant := stringFlag(fs, "tenant")
			return withServices(ctx, e, fs, func(s *server.Services) error {
				if _, err := s.Admin.GetTenant(ctx, tenant); err != nil {
					return err
				}
				w := newTable(e.stdout)
				fmt.Fprintln(w, "ID\tURL\tENABLED\tEVENT TYPES\tDESCRIPTION\tDISABLED REASON")
				after := ""
				for {
					ws, next, err := s.Admin.ListWebhooks(ctx, tenant, after, 200)
					if err != nil {
						return err
					}
					for _, h := range ws {
						fmt.Fprintf(w, "%s\t%s\t%v\t%s\t%s\t%s\n", h.ID, h.URL, h.Enabled, eventTypesText(h.EventTypes),
							dash(h.Description), dash(h.DisabledReason))
					}
					if next == "" {
						break
					}
					after = next
				}
				return w.Flush()
			})
		},
	}
}

func webhooksUpdateCommand() *command {
	return &command{
		name:  "webhooks update",
		short: "change a webhook subscription (or turn it on or off)",
		summary: `Change a webhook subscription. Only the fields whose flags are given change; --event-type replaces the
list (give it once with an empty value to receive every event). --enabled turns on a subscription that
was turned off, by an operator or by UMM after its deliveries kept failing: it receives the events from
then on, not those of the time it was off.`,
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
			fs.String("id", "", "webhook `id` (required)")
			fs.String("url", "", "the `URL` that receives the events")
			fs.Var(new(listFlag), "event-type", "event `type` to deliver (repeatable; replaces the list; empty: every event)")
			fs.String("description", "", "what the subscription is for (`text`)")
			fs.Bool("enabled", false, "deliver events (--enabled=false turns it off)")
		},
		required: []string{"tenant", "id"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			if err := nothingToUpdate(fs, "tenant", "id"); err != nil {
				return err
			}
			patch := admin.WebhookPatch{URL: stringIfSet(fs, "url"), EventTypes: listIfSet(fs, "event-type"),
				Description: stringIfSet(fs, "description"), Enabled: boolIfSet(fs, "enabled")}
			tenant := stringFlag(fs, "tenant")
			return withServices(ctx, e, fs, func(s *server.Services) error {
				w, err := s.Admin.UpdateWebhook(ctx, tenant, stringFlag(fs, "id"), patch, actorCLI)
				if err != nil {
					return err
				}
				state := "enabled"
				if !w.Enabled {
					state = "disabled"
				}
				fmt.Fprintf(e.stdout, "updated webhook %s in tenant %s: %s (%s), %s\n", w.ID, tenant, w.URL, eventTypesText(w.EventTypes), state)
				return nil
			})
		},
	}
}

func webhooksDeleteCommand() *command {
	return &command{
		name:    "webhooks delete",
		short:   "delete a webhook subscription",
		summary: "Delete a webhook subscription and its delivery log; deliveries not made yet are dropped.",
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
			fs.String("id", "", "webhook `id` (required)")
		},
		required: []string{"tenant", "id"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			return withServices(ctx, e, fs, func(s *server.Services) error {
				if err := s.Admin.DeleteWebhook(ctx, stringFlag(fs, "tenant"), stringFlag(fs, "id"), actorCLI); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "deleted webhook %s\n", stringFlag(fs, "id"))
				return nil
			})
		},
	}
}

func webhooksRotateSecretCommand() *command {
	return &command{
		name:  "webhooks rotate-secret",
		short: "give a webhook subscription a new signing secret (prints it once)",
		summary: `Give a webhook subscription a new signing secret, printed once. For 24 hours each delivery carries a
signature under the previous secret too, so receivers can switch to the new one without refusing any.`,
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
			fs.String("id", "", "webhook `id` (required)")
		},
		required: []string{"tenant", "id"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			tenant, id := stringFlag(fs, "tenant"), stringFlag(fs, "id")
			return withServices(ctx, e, fs, func(s *server.Services) error {
				secret, err := s.Admin.RotateWebhookSecret(ctx, tenant, id, actorCLI)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "rotated the signing secret of webhook %s in tenant %s\n", id, tenant)
				fmt.Fprintf(e.stdout, "deliveries are signed with the previous secret too for %s\n", admin.WebhookSecretOverlap)
				printWebhookSecret(e, secret)
				return nil
			})
		},
	}
}

func webhooksDeliveriesCommand() *command {
	return &command{
		name:  "webhooks deliveries",
		short: "show a webhook subscription's newest deliveries and their attempts",
		summary: `Show a webhook subscription's newest deliveries, newest first: the event, the status (pending, failed
and retried at NEXT ATTEMPT, succeeded, gave_up), the number of attempts and the last attempt's HTTP
status and error. "umm webhooks redeliver" attempts one again.`,
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
			fs.String("id", "", "webhook `id` (required)")
			fs.Int("limit", 20, "show the newest `N` deliveries (1 to 200)")
		},
		required: []string{"tenant", "id"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			limit, _ := strconv.Atoi(stringFlag(fs, "limit"))
			if limit < 1 || limit > 200 {
				return usagef("--limit must be between 1 and 200")
			}
			return withServices(ctx, e, fs, func(s *server.Services) error {
				ds, _, err := s.Admin.WebhookDeliveries(ctx, stringFlag(fs, "tenant"), stringFlag(fs, "id"), 0, limit)
				if err != nil {
					return err
				}
				w := newTable(e.stdout)
				fmt.Fprintln(w, "DELIVERY\tCREATED\tEVENT\tTYPE\tSTATUS\tATTEMPTS\tHTTP\tNEXT ATTEMPT\tERROR")
				for _, d := range ds {
					code, next := "-", "-"
					if d.LastStatusCode != 0 {
						code = strconv.Itoa(d.LastStatusCode)
					}
					if !d.NextAttemptAt.IsZero() {
						next = tableTime(d.NextAttemptAt)
					}
					fmt.Fprintf(w, "%d\t%s\t%d\t%s\t%s\t%d\t%s\t%s\t%s\n", d.ID, tableTime(d.CreatedAt), d.EventID, d.EventType,
						d.Status, d.Attempts, code, next, dash(d.LastError))
				}
				return w.Flush()
			})
		},
	}
}

func webhooksRedeliverCommand() *command {
	return &command{
		name:  "webhooks redeliver",
		short: "attempt a webhook delivery again now",
		summary: `Attempt a delivery again now, whatever its status, with a fresh retry period; the running server sends
it with the same webhook-id, so receivers can tell it is the same message. "umm webhooks deliveries"
shows the delivery ids.`,
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
			fs.String("id", "", "webhook `id` (required)")
			fs.Int64("delivery", 0, "delivery `id` (required)")
		},
		required: []string{"tenant", "id"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			delivery, _ := strconv.ParseInt(stringFlag(fs, "delivery"), 10, 64)
			if delivery <= 0 {
				return usagef("--delivery is required: the id umm webhooks deliveries shows")
			}
			return withServices(ctx, e, fs, func(s *server.Services) error {
				if err := s.Admin.RedeliverWebhook(ctx, stringFlag(fs, "tenant"), stringFlag(fs, "id"), delivery, actorCLI); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "delivery %d of webhook %s is due again now\n", delivery, stringFlag(fs, "id"))
				return nil
			})
		},
	}
}
