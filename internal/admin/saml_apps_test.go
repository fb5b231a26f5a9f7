package admin_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/admin"
	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/events"
	"github.com/umm-project/umm/internal/store"
	"github.com/umm-project/umm/internal/store/storetest"
)

// spMetadata is a service provider's metadata with one HTTP-POST ACS, an SLO endpoint and a signing key.
const spMetadata = `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp.example.com/md">
 <SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
  <KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>` +
	"Y2VydA==" + `</X509Certificate></X509Data></KeyInfo></KeyDescriptor>
  <SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://sp.example.com/slo"/>
  <AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact" Location="https://sp.example.com/artifact" index="0"/>
  <AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example.com/acs" index="1"/>
 </SPSSODescriptor>
</EntityDescriptor>`

func TestSAMLApps(t *testing.T) {
	md := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/metadata":
			w.Write([]byte(spMetadata))
		case "/huge":
			w.Write([]byte(strings.Repeat(" ", 2<<20)))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(md.Close)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		tid := storetest.Tenant(t, db)

		t.Run("an app given by its metadata URL is completed from the metadata", func(t *testing.T) {
			a, err := f.admin.UpsertSAMLApp(ctx, tid, config.SAMLApp{MetadataURL: md.URL + "/metadata", Name: "MD"}, "admin")
			if err != nil {
				t.Fatal(err)
			}
			if a.EntityID != "https://sp.example.com/md" || !slices.Equal(a.ACSURLs, []string{"https://sp.example.com/acs"}) ||
				a.SLOURL != "https://sp.example.com/slo" || !strings.Contains(a.SPCertificate, base64.StdEncoding.EncodeToString([]byte("cert"))) {
				t.Errorf("completed app = %+v", a)
			}
			list, err := f.admin.ListSAMLApps(ctx, tid)
			if err != nil || len(list) != 1 || list[0].EntityID != a.EntityID || list[0].Name != "MD" {
				t.Errorf("ListSAMLApps = %+v, %v", list, err)
			}
		})

		t.Run("what the operator gives wins over the metadata", func(t *testing.T) {
			a, err := f.admin.UpsertSAMLApp(ctx, tid, config.SAMLApp{MetadataURL: md.URL + "/metadata", EntityID: "urn:mine",
				ACSURLs: []string{"https://mine.example.com/acs"}}, "admin")
			if err != nil || a.EntityID != "urn:mine" || !slices.Equal(a.ACSURLs, []string{"https://mine.example.com/acs"}) {
				t.Errorf("app = %+v, %v", a, err)
			}
		})

		refused := []struct {
			name string
			app  config.SAMLApp
		}{
			{"an app without entity id or ACS is refused", config.SAMLApp{Name: "x"}},
			{"an ACS over plain http on a public host is refused", config.SAMLApp{EntityID: "e", ACSURLs: []string{"http://sp.example.com/acs"}}},
			{"metadata that is not there is refused", config.SAMLApp{MetadataURL: md.URL + "/missing"}},
			{"metadata larger than the limit is refused", config.SAMLApp{MetadataURL: md.URL + "/huge"}},
		}
		for _, tt := range refused {
			t.Run(tt.name, func(t *testing.T) {
				if _, err := f.admin.UpsertSAMLApp(ctx, tid, tt.app, "admin"); !admin.IsInvalid(err) {
					t.Errorf("UpsertSAMLApp = %v, want an invalid-input error", err)
				}
			})
		}

		t.Run("delete removes the app once and each change is an event", func(t *testing.T) {
			if err := f.admin.DeleteSAMLApp(ctx, tid, "urn:mine", "admin"); err != nil {
				t.Fatal(err)
			}
			if err := f.admin.DeleteSAMLApp(ctx, tid, "urn:mine", "admin"); err == nil {
				t.Error("a second delete succeeded")
			}
			if n := countEvents(t, db, tid, events.TypeSAMLAppUpserted); n != 2 {
				t.Errorf("%d saml_app.upserted events, want 2", n)
			}
			if n := countEvents(t, db, tid, events.TypeSAMLAppDeleted); n != 1 {
				t.Errorf("%d saml_app.deleted events, want 1", n)
			}
		})
	})
}

func TestSeedSAMLApp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		seed := testSeed()
		seed[0].SAMLApps = []config.SAMLApp{{EntityID: "https://sp.example.com", ACSURLs: []string{"https://sp.example.com/acs"}}}
		res, err := f.admin.ApplySeed(ctx, seed)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(res.Applied, "saml_app acme/https://sp.example.com") {
			t.Errorf("first seed applied %v", res.Applied)
		}
		res, err = f.admin.ApplySeed(ctx, seed)
		if err != nil || slices.Contains(res.Applied, "saml_app acme/https://sp.example.com") {
			t.Errorf("an unchanged seed applied %v, %v", res.Applied, err)
		}
		seed[0].SAMLApps[0].Name = "Renamed"
		if _, err := f.admin.ApplySeed(ctx, seed); err != nil {
			t.Fatal(err)
		}
		if a, err := db.GetSAMLApp(ctx, "acme", "https://sp.example.com"); err != nil || a.Name != "Renamed" {
			t.Errorf("after a changed seed: %+v, %v", a, err)
		}
	})
}
