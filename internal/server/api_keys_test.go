package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/server/servertest"
	"github.com/umm-project/umm/internal/store/storetest"
)

type keyResp struct {
	KID         string         `json:"kid"`
	Alg         string         `json:"alg"`
	Status      string         `json:"status"`
	ActivatedAt string         `json:"activated_at"`
	PublicJWK   map[string]any `json:"public_jwk"`
}

// keysOf decodes a key list and indexes it by status and algorithm ("current ES256").
func keysOf(t *testing.T, r apiResp) map[string]keyResp {
	t.Helper()
	if strings.Contains(string(r.body), `"d":`) || strings.Contains(string(r.body), "private") {
		t.Fatalf("%s answers private key material: %s", r.Request.URL.Path, r.body)
	}
	var page struct {
		Data []keyResp `json:"data"`
	}
	r.json(t, &page)
	out := map[string]keyResp{}
	for _, k := range page.Data {
		if k.PublicJWK["kid"] != k.KID || k.PublicJWK["kty"] == nil {
			t.Errorf("key %s has public_jwk %v", k.KID, k.PublicJWK)
		}
		if k.Status != "retired" {
			out[k.Status+" "+k.Alg] = k
		}
	}
	return out
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := servertest.New(t, servertest.WithBackend(backend))
			m := operator(t, srv)
			base := "/tenants/" + srv.Tenant + "/keys"

			before := keysOf(t, m.ok(http.StatusOK, "GET", base, nil))
			for _, k := range []string{"current ES256", "next ES256", "current RS256", "next RS256"} {
				if before[k].KID == "" {
					t.Fatalf("no %s key: %v", k, before)
				}
			}
			if before["current ES256"].ActivatedAt == "" {
				t.Errorf("the current key has no activated_at")
			}

			t.Run("a rotation makes the next keys current", func(t *testing.T) {
				after := keysOf(t, m.ok(http.StatusOK, "POST", base+"/rotate", nil))
				for _, alg := range []string{"ES256", "RS256"} {
					if after["current "+alg].KID != before["next "+alg].KID || after["next "+alg].KID == "" || after["next "+alg].KID == before["next "+alg].KID {
						t.Errorf("%s after the rotation: %+v, before: %+v", alg, after, before)
					}
				}
				if actor, _ := tenantEvent(t, srv, srv.Tenant, events.TypeKeyRotated); actor != operatorActor(t, srv) {
					t.Errorf("key.rotated actor %q, want the calling client", actor)
				}
			})
			t.Run("a revoked key leaves the list", func(t *testing.T) {
				kid := before["current ES256"].KID // retired by the rotation
				r := m.ok(http.StatusOK, "POST", base+"/"+kid+"/revoke", nil)
				if strings.Contains(string(r.body), kid) {
					t.Errorf("revoked %s is still listed: %s", kid, r.body)
				}
				if actor, subject := tenantEvent(t, srv, srv.Tenant, events.TypeKeyRevoked); actor != operatorActor(t, srv) || subject != kid {
					t.Errorf("key.revoked by %q of %q", actor, subject)
				}
				m.do("POST", base+"/"+kid+"/revoke", nil).problem(t, http.StatusNotFound)
			})
			t.Run("a key-reading token may not rotate", func(t *testing.T) {
				ro := scopedCaller(t, m, srv.Tenant, "umm:keys:read")
				ro.ok(http.StatusOK, "GET", base, nil)
				ro.do("POST", base+"/rotate", nil).problem(t, http.StatusForbidden)
			})
		})
	}
}
