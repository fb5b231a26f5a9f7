package login

import (
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
)

func TestOrganizationLook(t *testing.T) {
	var tn store.Tenant
	tn.Settings.Look.Branding = config.Branding{DisplayName: "ACME", PrimaryColor: "#1a56db", SupportEmail: "help@acme.example"}
	tests := []struct {
		name string
		org  *store.Organization
		want config.Branding
	}{
		{"without an organization the tenant's branding stays", nil, tn.Settings.Look.Branding},
		{"an organization's branding replaces what it sets and keeps the rest",
			&store.Organization{Branding: map[string]any{"display_name": "Globex Portal", "primary_color": "#7a1f1f"}},
			config.Branding{DisplayName: "Globex Portal", PrimaryColor: "#7a1f1f", SupportEmail: "help@acme.example"}},
		{"an organization without branding wears the tenant's", &store.Organization{}, tn.Settings.Look.Branding},
		{"a stored branding that fails its checks is ignored",
			&store.Organization{Branding: map[string]any{"logo_url": "javascript:alert(1)"}}, tn.Settings.Look.Branding},
		{"a stored branding with an unknown key is ignored",
			&store.Organization{Branding: map[string]any{"colour": "#7a1f1f"}}, tn.Settings.Look.Branding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := orgLook(tn, tt.org).Branding; got != tt.want {
				t.Errorf("orgLook = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestOrganizationName(t *testing.T) {
	if got := orgName(store.Organization{Name: "globex", DisplayName: "Globex Corporation"}); got != "Globex Corporation" {
		t.Errorf("with a display name: %q", got)
	}
	if got := orgName(store.Organization{Name: "globex"}); got != "globex" {
		t.Errorf("without a display name: %q", got)
	}
}
