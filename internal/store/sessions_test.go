package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestTouchSessionWritesAtMostOncePerPeriod(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		t0 := time.Unix(1_800_000_000, 0)
		if err := db.CreateUser(ctx, store.User{TenantID: tid, ID: "u1", Email: "u@example.com", EmailNorm: "u@example.com"}); err != nil {
			t.Fatal(err)
		}
		s := store.Session{TenantID: tid, ID: "s1", UserID: "u1", AuthTime: t0, AMR: []string{"pwd"}, CreatedAt: t0, LastSeenAt: t0,
			IdleExpiresAt: t0.Add(time.Hour), ExpiresAt: t0.Add(2 * time.Hour)}
		if err := db.CreateSession(ctx, s, []byte("hash-1")); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			now  time.Time
			want bool
		}{
			{"a touch within the period does not write", t0.Add(59 * time.Second), false},
			{"a touch a period later writes", t0.Add(time.Minute), true},
			{"a second touch in the same period does not write", t0.Add(90 * time.Second), false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ok, err := db.TouchSession(ctx, tid, "s1", tt.now, tt.now.Add(time.Hour), tt.now.Add(-time.Minute))
				if err != nil || ok != tt.want {
					t.Fatalf("TouchSession = %v, %v; want %v", ok, err, tt.want)
				}
			})
		}
		t.Run("an ended session is not touched and cannot end twice", func(t *testing.T) {
			if err := db.EndSession(ctx, tid, "s1", t0.Add(2*time.Minute)); err != nil {
				t.Fatal(err)
			}
			if ok, _ := db.TouchSession(ctx, tid, "s1", t0.Add(time.Hour), t0.Add(2*time.Hour), t0.Add(time.Hour)); ok {
				t.Fatal("an ended session was touched")
			}
			if err := db.EndSession(ctx, tid, "s1", t0.Add(3*time.Minute)); err == nil {
				t.Fatal("a session ended twice")
			}
			got, err := db.GetSessionByToken(ctx, tid, []byte("hash-1"))
			if err != nil || !got.EndedAt.Equal(t0.Add(2*time.Minute)) || got.AMR[0] != "pwd" {
				t.Fatalf("GetSessionByToken = %+v, %v", got, err)
			}
		})
	})
}
