package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/server"
)

// Event types the list shows in words of their own: the risk engine's decisions.
const (
	eventRiskAssessed = "risk.assessed"
	eventLoginBlocked = "login.blocked"
)

func eventsListCommand() *command {
	return &command{
		name:  "events list",
		short: "show a tenant's newest events (audit log), risk decisions in words",
		summary: `Show a tenant's newest events, oldest first: time (UTC), type, the user it is about, the client
address, and what happened. For the risk engine's decisions (risk.assessed, login.blocked) it shows the
score (0-100), the decision (allowed, challenged, denied, failed, blocked) and why, in plain words, for
example "new device; new country: DE; 14 failed attempts from this IP in 10 min". Other events show their
details as key=value. Filter by --type (for example risk.assessed, login.failed, mfa.challenged) and by
--user (an email address).`,
		flags: func(fs *flag.FlagSet) {
			fs.String("tenant", "", "tenant `id` (required)")
			fs.String("type", "", "only events of this `type` (risk.assessed, login.blocked, login.failed, ...)")
			fs.String("user", "", "only events about the user with this email `address`")
			fs.Int("limit", 50, fmt.Sprintf("show the newest `N` events (1 to %d)", admin.MaxEventsListed))
		},
		required: []string{"tenant"},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet) error {
			limit, _ := strconv.Atoi(stringFlag(fs, "limit"))
			if limit < 1 || limit > admin.MaxEventsListed {
				return usagef("--limit must be between 1 and %d", admin.MaxEventsListed)
			}
			email := stringFlag(fs, "user")
			if email != "" && !strings.Contains(email, "@") {
				return usagef("--user takes an email address")
			}
			return withServices(ctx, e, fs, func(s *server.Services) error {
				tenant := stringFlag(fs, "tenant")
				q := admin.EventQuery{Type: stringFlag(fs, "type"), Limit: limit}
				if email != "" {
					u, err := s.Admin.FindUser(ctx, tenant, email)
					if err != nil {
						return err
					}
					q.UserID = u.ID
				}
				evs, err := s.Admin.ListEvents(ctx, tenant, q)
				if err != nil {
					return err
				}
				return writeEvents(e.stdout, evs)
			})
		},
	}
}

// writeEvents prints events as the table of `umm events list`.
func writeEvents(out io.Writer, evs []admin.AuditEvent) error {
	if len(evs) == 0 {
		_, err := fmt.Fprintln(out, "no events")
		return err
	}
	w := newTable(out)
	fmt.Fprintln(w, "TIME\tTYPE\tUSER\tIP\tSCORE\tDECISION\tDETAILS")
	for _, ev := range evs {
		user := ev.UserEmail
		if user == "" {
			user = dash(ev.Subject)
		}
		score, decision, details := "-", "-", ""
		switch ev.Type {
		case eventRiskAssessed:
			score, decision, details = dataText(ev.Data["score"]), dataText(ev.Data["decision"]), dataText(ev.Data["explain"])
			if details == "" {
				details = "nothing unusual"
			}
		case eventLoginBlocked:
			score, decision, details = dataText(ev.Data["score"]), "blocked", dataText(ev.Data["reasons"])
		default:
			details = keyValues(ev.Data)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.CreatedAt.UTC().Format("2006-01-02 15:04:05"), ev.Type, user,
			dash(ev.IP), dash(score), dash(decision), dash(details))
	}
	return w.Flush()
}

// dataText is a value of an event's data as text: strings as they are, anything else as JSON.
func dataText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// keyValues writes an event's data as key=value pairs in key order (event data never holds secrets).
func keyValues(data map[string]any) string {
	parts := make([]string, 0, len(data))
	for _, k := range slices.Sorted(maps.Keys(data)) {
		parts = append(parts, k+"="+dataText(data[k]))
	}
	return strings.Join(parts, " ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
