package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

func TestSigningKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tid := storetest.Tenant(t, db)
		t0 := time.Unix(1_800_000_000, 0)
		key := func(kid, alg, status string) store.SigningKey {
			k := store.SigningKey{TenantID: tid, KeyID: kid, Alg: alg, Status: status, PrivateEnc: []byte{1, 2, 3},
				PublicJWK: `{"kid":"` + kid + `"}`, CreatedAt: t0}
			if status == store.KeyStatusCurrent {
				k.ActivatedAt = t0
			}
			return k
		}
		for _, k := range []store.SigningKey{
			key("es-1", "ES256", store.KeyStatusCurrent), key("es-2", "ES256", store.KeyStatusNext),
			key("rs-1", "RS256", store.KeyStatusCurrent),
		} {
			if err := db.InsertSigningKey(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		t.Run("keys round-trip with their times", func(t *testing.T) {
			rows, err := db.ListSigningKeys(ctx, tid)
			if err != nil || len(rows) != 3 {
				t.Fatalf("%d rows, err %v", len(rows), err)
			}
			r := rows[0]
			if r.KeyID != "es-1" || r.Alg != "ES256" || r.Status != store.KeyStatusCurrent || string(r.PrivateEnc) != "\x01\x02\x03" ||
				!r.CreatedAt.Equal(t0) || !r.ActivatedAt.Equal(t0) || !r.RetiredAt.IsZero() || r.PublicJWK != `{"kid":"es-1"}` {
				t.Fatalf("row %+v", r)
			}
		})
		conflicts := []struct {
			name string
			k    store.SigningKey
		}{
			{"a second current key for an algorithm is a conflict", key("es-3", "ES256", store.KeyStatusCurrent)},
			{"a second next key for an algorithm is a conflict", key("es-4", "ES256", store.KeyStatusNext)},
			{"a duplicate kid is a conflict", key("rs-1", "RS256", store.KeyStatusNext)},
		}
		for _, tt := range conflicts {
			t.Run(tt.name, func(t *testing.T) {
				if err := db.InsertSigningKey(ctx, tt.k); !errors.Is(err, store.ErrConflict) {
					t.Fatalf("err = %v, want ErrConflict", err)
				}
			})
		}
		t.Run("promoting next while a current key remains is a conflict", func(t *testing.T) {
			err := db.SetSigningKeyStatus(ctx, tid, "es-2", store.KeyStatusNext, store.KeyStatusCurrent, t0)
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("err = %v, want ErrConflict", err)
			}
		})
		t.Run("a key not in the expected status is not found", func(t *testing.T) {
			err := db.SetSigningKeyStatus(ctx, tid, "es-2", store.KeyStatusCurrent, store.KeyStatusRetired, t0)
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
		})
		t.Run("a key cannot go back to next", func(t *testing.T) {
			if err := db.SetSigningKeyStatus(ctx, tid, "es-1", store.KeyStatusCurrent, store.KeyStatusNext, t0); err == nil {
				t.Fatal("no error")
			}
		})
		t.Run("tenants whose current key is older than the cutoff are due", func(t *testing.T) {
			due, err := db.SigningKeysDue(ctx, t0.Add(time.Second))
			if err != nil || len(due) != 1 || due[0] != tid {
				t.Fatalf("due %v, err %v", due, err)
			}
			if due, _ := db.SigningKeysDue(ctx, t0); len(due) != 0 {
				t.Fatalf("due %v at the activation time itself", due)
			}
		})
		t1 := t0.Add(time.Hour)
		err := db.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.LockSigningKeys(ctx, tid); err != nil {
				return err
			}
			if err := tx.SetSigningKeyStatus(ctx, tid, "es-1", store.KeyStatusCurrent, store.KeyStatusRetired, t1); err != nil {
				return err
			}
			return tx.SetSigningKeyStatus(ctx, tid, "es-2", store.KeyStatusNext, store.KeyStatusCurrent, t1)
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Run("a rotation in a transaction retires and activates with its time", func(t *testing.T) {
			rows, _ := db.ListSigningKeys(ctx, tid)
			got := map[string]store.SigningKey{}
			for _, r := range rows {
				got[r.KeyID] = r
			}
			if got["es-1"].Status != store.KeyStatusRetired || !got["es-1"].RetiredAt.Equal(t1) ||
				got["es-2"].Status != store.KeyStatusCurrent || !got["es-2"].ActivatedAt.Equal(t1) {
				t.Fatalf("rows %+v", rows)
			}
		})
		t.Run("retired keys are deleted only after the cutoff", func(t *testing.T) {
			if n, err := db.DeleteRetiredSigningKeys(ctx, tid, t1); err != nil || n != 0 {
				t.Fatalf("deleted %d, err %v", n, err)
			}
			if n, err := db.PruneRetiredSigningKeys(ctx, t1); err != nil || n != 0 {
				t.Fatalf("pruned %d, err %v", n, err)
			}
			if n, err := db.DeleteRetiredSigningKeys(ctx, tid, t1.Add(time.Second)); err != nil || n != 1 {
				t.Fatalf("deleted %d, err %v", n, err)
			}
			if rows, _ := db.ListSigningKeys(ctx, tid); len(rows) != 2 {
				t.Fatalf("%d rows left, want 2", len(rows))
			}
		})
		t.Run("pruning covers every tenant but not current keys", func(t *testing.T) {
			other := storetest.Tenant(t, db)
			k := key("old", "ES256", store.KeyStatusCurrent)
			k.TenantID = other
			if err := db.InsertSigningKey(ctx, k); err != nil {
				t.Fatal(err)
			}
			if err := db.SetSigningKeyStatus(ctx, other, "old", store.KeyStatusCurrent, store.KeyStatusRetired, t0); err != nil {
				t.Fatal(err)
			}
			if n, err := db.PruneRetiredSigningKeys(ctx, t1.Add(24*time.Hour)); err != nil || n != 1 {
				t.Fatalf("pruned %d, err %v", n, err)
			}
			if rows, _ := db.ListSigningKeys(ctx, tid); len(rows) != 2 {
				t.Fatalf("%d rows left in the first tenant, want 2", len(rows))
			}
		})
	})
}
