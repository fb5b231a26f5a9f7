package admin_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestWebhookValidation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		tid := storetest.Tenant(t, db)
		tests := []struct {
			name   string
			in     admin.WebhookInput
			fields []string // the fields of the problems; none: valid
		}{
			{"a public https URL with known types is valid", admin.WebhookInput{URL: "https://93.184.215.14/hooks", EventTypes: []string{"user.created"}}, nil},
			{"no event types means all", admin.WebhookInput{URL: "https://93.184.215.14/hooks"}, nil},
			{"a missing URL", admin.WebhookInput{}, []string{"url"}},
			{"a loopback URL without allow_private_targets", admin.WebhookInput{URL: "https://127.0.0.1/hooks"}, []string{"url"}},
			{"a private URL without allow_private_targets", admin.WebhookInput{URL: "https://192.168.1.10/hooks"}, []string{"url"}},
			{"plain http without allow_private_targets", admin.WebhookInput{URL: "http://93.184.215.14/hooks"}, []string{"url"}},
			{"an unknown event type is named by its index", admin.WebhookInput{URL: "https://93.184.215.14/",
				EventTypes: []string{"user.created", "user.exploded"}}, []string{"event_types[1]"}},
			{"every problem at once", admin.WebhookInput{URL: "ftp://x", EventTypes: []string{"nope"},
				Description: strings.Repeat("x", 501)}, []string{"url", "event_types[0]", "description"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, secret, err := f.admin.CreateWebhook(ctx, tid, tt.in, "cli")
				if tt.fields == nil {
					if err != nil || !strings.HasPrefix(secret, "whsec_") {
						t.Fatalf("CreateWebhook = %q, %v", secret, err)
					}
					return
				}
				var ie *admin.InvalidError
				if !errors.As(err, &ie) {
					t.Fatalf("CreateWebhook = %v, want an InvalidError", err)
				}
				var got []string
				for _, p := range ie.FieldProblems() {
					if p.Message == "" {
						t.Errorf("problem of %s has no message", p.Field)
					}
					got = append(got, p.Field)
				}
				if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
					t.Errorf("problem fields = %v, want %v (%v)", got, tt.fields, err)
				}
			})
		}
	})
}

func TestWebhookSubscriptionManagement(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		svc := admin.New(admin.Deps{DB: db, Keyring: f.keyring, Identity: f.identity,
			Webhooks: config.Webhooks{AllowPrivateTargets: true}})
		tid := storetest.Tenant(t, db)

		w, secret, err := svc.CreateWebhook(ctx, tid, admin.WebhookInput{URL: "http://127.0.0.1:9/hooks",
			EventTypes: []string{"user.created", "user.created", "user.deleted"}, Description: "CRM sync"}, "cli")
		if err != nil {
			t.Fatal(err)
		}
		if !w.Enabled || len(w.EventTypes) != 2 || w.Description != "CRM sync" {
			t.Errorf("created = %+v", w)
		}
		t.Run("the secret is whsec_ and 32 random bytes, stored only sealed for this webhook", func(t *testing.T) {
			key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
			if err != nil || len(key) != 32 {
				t.Fatalf("secret %q: %d bytes, %v", secret, len(key), err)
			}
			row, _ := db.GetWebhook(ctx, tid, w.ID)
			if strings.Contains(string(row.Secret), string(key)) {
				t.Error("the key is stored in clear")
			}
			plain, err := f.keyring.Open(row.Secret, keys.WebhookSecretAAD(tid, w.ID))
			if err != nil || string(plain) != string(key) {
				t.Errorf("the sealed secret opens to another key: %v", err)
			}
			if countEvents(t, db, tid, events.TypeWebhookCreated) != 1 {
				t.Error("no webhook.created event")
			}
			for _, e := range mustEvents(t, db, tid, events.TypeWebhookCreated) {
				if strings.Contains(strings.Join(flatten(e.Data), " "), strings.TrimPrefix(secret, "whsec_")) {
					t.Error("the event carries the secret")
				}
			}
		})
		t.Run("another tenant does not see it", func(t *testing.T) {
			if _, err := svc.GetWebhook(ctx, storetest.Tenant(t, db), w.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetWebhook in another tenant = %v, want ErrNotFound", err)
			}
		})
		t.Run("update changes what it names and records which fields", func(t *testing.T) {
			off, url := false, "http://127.0.0.1:9/other"
			got, err := svc.UpdateWebhook(ctx, tid, w.ID, admin.WebhookPatch{URL: &url, Enabled: &off}, "cli")
			if err != nil || got.URL != url || got.Enabled || got.Description != "CRM sync" {
				t.Fatalf("UpdateWebhook = %+v, %v", got, err)
			}
			es := mustEvents(t, db, tid, events.TypeWebhookUpdated)
			if len(es) != 1 || strings.Join(flatten(es[0].Data), ",") != "url,enabled" {
				t.Errorf("webhook.updated events = %+v", es)
			}
			if _, err := svc.UpdateWebhook(ctx, tid, w.ID, admin.WebhookPatch{URL: &url}, "cli"); err != nil {
				t.Fatal(err)
			}
			if countEvents(t, db, tid, events.TypeWebhookUpdated) != 1 {
				t.Error("an update that changed nothing wrote an event")
			}
			bad := []string{"nope"}
			_, err = svc.UpdateWebhook(ctx, tid, w.ID, admin.WebhookPatch{EventTypes: &bad}, "cli")
			var ie *admin.InvalidError
			if !errors.As(err, &ie) || ie.Fields[0].Field != "event_types[0]" {
				t.Errorf("update with an unknown type = %v", err)
			}
			if _, err := svc.UpdateWebhook(ctx, tid, "wh_none", admin.WebhookPatch{URL: &url}, "cli"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("update of an unknown webhook = %v", err)
			}
		})
		t.Run("rotation returns a new secret and keeps the previous one for a day", func(t *testing.T) {
			before, _ := db.GetWebhook(ctx, tid, w.ID)
			s2, err := svc.RotateWebhookSecret(ctx, tid, w.ID, "cli")
			if err != nil || s2 == secret || !strings.HasPrefix(s2, "whsec_") {
				t.Fatalf("RotateWebhookSecret = %q, %v", s2, err)
			}
			after, _ := db.GetWebhook(ctx, tid, w.ID)
			if string(after.PreviousSecret) != string(before.Secret) {
				t.Error("the previous secret is not the one replaced")
			}
			if d := time.Until(after.PreviousExpiresAt); d < 23*time.Hour || d > 25*time.Hour {
				t.Errorf("the previous secret expires in %s, want 24h", d)
			}
			if countEvents(t, db, tid, events.TypeWebhookSecretRotated) != 1 {
				t.Error("no webhook.secret_rotated event")
			}
			if _, err := svc.RotateWebhookSecret(ctx, tid, "wh_none", "cli"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("rotation of an unknown webhook = %v", err)
			}
		})
		t.Run("list pages by id", func(t *testing.T) {
			for range 2 {
				if _, _, err := svc.CreateWebhook(ctx, tid, admin.WebhookInput{URL: "https://93.184.215.14/"}, "cli"); err != nil {
					t.Fatal(err)
				}
			}
			page1, next, err := svc.ListWebhooks(ctx, tid, "", 2)
			if err != nil || len(page1) != 2 || next == "" {
				t.Fatalf("page 1 = %d, %q, %v", len(page1), next, err)
			}
			page2, next2, err := svc.ListWebhooks(ctx, tid, next, 2)
			if err != nil || len(page2) != 1 || next2 != "" || page2[0].ID <= page1[1].ID {
				t.Fatalf("page 2 = %+v, %q, %v", page2, next2, err)
			}
		})
		t.Run("the delivery log lists deliveries and one is redelivered", func(t *testing.T) {
			on := true
			if _, err := svc.UpdateWebhook(ctx, tid, w.ID, admin.WebhookPatch{Enabled: &on}, "cli"); err != nil {
				t.Fatal(err)
			}
			if err := db.AppendEvent(ctx, events.UserCreated(tid, "u1", "cli")); err != nil {
				t.Fatal(err)
			}
			row, _ := db.GetWebhook(ctx, tid, w.ID)
			if _, err := db.ScanWebhookEvents(ctx, row, 0, time.Now(), time.Minute, 100); err != nil {
				t.Fatal(err)
			}
			ds, next, err := svc.WebhookDeliveries(ctx, tid, w.ID, 0, 10)
			if err != nil || len(ds) != 1 || next != 0 || ds[0].EventType != "user.created" || ds[0].Status != store.DeliveryPending {
				t.Fatalf("deliveries = %+v, %d, %v", ds, next, err)
			}
			if ds[0].MessageID != events.WebhookMessageID(ds[0].ID) {
				t.Errorf("message id = %q", ds[0].MessageID)
			}
			if err := svc.RedeliverWebhook(ctx, tid, w.ID, ds[0].ID, "cli"); err != nil {
				t.Fatal(err)
			}
			if countEvents(t, db, tid, events.TypeWebhookRedelivered) != 1 {
				t.Error("no webhook.redelivered event")
			}
			if err := svc.RedeliverWebhook(ctx, tid, w.ID, ds[0].ID+1000, "cli"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("redelivery of an unknown delivery = %v", err)
			}
			if _, _, err := svc.WebhookDeliveries(ctx, tid, "wh_none", 0, 10); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("deliveries of an unknown webhook = %v", err)
			}
		})
		t.Run("delete removes it once", func(t *testing.T) {
			if err := svc.DeleteWebhook(ctx, tid, w.ID, "cli"); err != nil {
				t.Fatal(err)
			}
			if err := svc.DeleteWebhook(ctx, tid, w.ID, "cli"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("second delete = %v", err)
			}
			if _, err := svc.GetWebhook(ctx, tid, w.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("get after delete = %v", err)
			}
			if countEvents(t, db, tid, events.TypeWebhookDeleted) != 1 {
				t.Error("no webhook.deleted event")
			}
		})
	})
}

func TestWebhookInvalidErrorFieldsOfSentenceProblems(t *testing.T) {
	t.Parallel()
	ie := &admin.InvalidError{Problems: []string{"redirect_uris[0]: must be https", "tenant \"x\" does not exist",
		"given_name, family_name: too long", "connection x has a problem: y"}}
	got := ie.FieldProblems()
	if len(got) != 4 || got[0].Field != "redirect_uris[0]" || got[0].Message != "must be https" || got[1].Field != "" ||
		got[2].Field != "given_name, family_name" || got[2].Message != "too long" || got[3].Field != "" || got[3].Message != ie.Problems[3] {
		t.Errorf("FieldProblems = %+v", got)
	}
}

func mustEvents(t *testing.T, db *store.DB, tid, typ string) []store.Event {
	t.Helper()
	es, err := db.ListEvents(context.Background(), tid, 0, typ, 100)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// flatten lists the string values in an event's data, lists spread out.
func flatten(m map[string]any) []string {
	var out []string
	for _, k := range []string{"url", "fields", "event_types", "previous_secret_expires_at"} {
		switch v := m[k].(type) {
		case string:
			out = append(out, v)
		case []any:
			for _, x := range v {
				s, _ := x.(string)
				out = append(out, s)
			}
		}
	}
	return out
}
