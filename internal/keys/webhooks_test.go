package keys

import (
	"context"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// A master key rotation reseals a webhook subscription's current and previous signing secrets.
func TestWebhookSecretsAreResealedByAMasterKeyRotation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		oldKey, newKey := testMaster(7), testMaster(8)
		krOld, err := OpenKeyring(ctx, db, oldKey, nil)
		if err != nil {
			t.Fatal(err)
		}
		tenant := storetest.Tenant(t, db)
		aad := WebhookSecretAAD(tenant, "wh1")
		cur, _ := krOld.Seal([]byte("current-key"), aad)
		prev, _ := krOld.Seal([]byte("previous-key"), aad)
		if err := db.InsertWebhook(ctx, store.Webhook{TenantID: tenant, ID: "wh1", URL: "https://x.example", Enabled: true,
			Secret: prev, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := db.RotateWebhookSecret(ctx, tenant, "wh1", cur, time.Now().Add(time.Hour), time.Now()); err != nil {
			t.Fatal(err)
		}
		krStep2, err := OpenKeyring(ctx, db, newKey, [][]byte{oldKey})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Reseal(ctx, db, krStep2); err != nil {
			t.Fatal(err)
		}
		krNew, err := OpenKeyring(ctx, db, newKey, nil)
		if err != nil {
			t.Fatal(err)
		}
		w, err := db.GetWebhook(ctx, tenant, "wh1")
		if err != nil {
			t.Fatal(err)
		}
		for name, c := range map[string]struct {
			sealed []byte
			want   string
		}{"current": {w.Secret, "current-key"}, "previous": {w.PreviousSecret, "previous-key"}} {
			got, err := krNew.Open(c.sealed, aad)
			if err != nil || string(got) != c.want {
				t.Errorf("the %s secret after reseal opens to %q, %v", name, got, err)
			}
			if _, err := krNew.Open(c.sealed, WebhookSecretAAD(tenant, "wh2")); err == nil {
				t.Errorf("the %s secret opens for another webhook", name)
			}
		}
	})
}
