package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestRecentEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid, other := storetest.Tenant(t, db), storetest.Tenant(t, db)
		for i := range 6 {
			typ, subject := "a.happened", "u1"
			if i%2 == 1 {
				typ, subject = "b.happened", "u2"
			}
			if err := db.AppendEvent(ctx, store.Event{TenantID: tid, Type: typ, Subject: subject, Data: map[string]any{"n": i}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.AppendEvent(ctx, store.Event{TenantID: other, Type: "a.happened", Subject: "u1"}); err != nil {
			t.Fatal(err)
		}
		order := func(evs []store.Event) string {
			s := ""
			for _, e := range evs {
				s += fmt.Sprint(e.Data["n"])
			}
			return s
		}
		for _, tt := range []struct {
			name, typ, subject string
			limit              int
			want               string
		}{
			{"every event of the tenant, oldest first", "", "", 0, "012345"},
			{"the newest two, oldest first", "", "", 2, "45"},
			{"one type", "b.happened", "", 10, "135"},
			{"one subject, the newest two", "", "u1", 2, "24"},
			{"a type and a subject that never meet", "a.happened", "u2", 10, ""},
		} {
			t.Run(tt.name, func(t *testing.T) {
				evs, err := db.RecentEvents(ctx, tid, tt.typ, tt.subject, tt.limit)
				if err != nil {
					t.Fatal(err)
				}
				if got := order(evs); got != tt.want {
					t.Errorf("RecentEvents(%q, %q, %d) = %q, want %q", tt.typ, tt.subject, tt.limit, got, tt.want)
				}
			})
		}
	})
}
