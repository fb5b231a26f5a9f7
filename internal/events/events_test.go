package events

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/umm-project/umm/internal/store"
)

func TestCatalogue(t *testing.T) {
	const tid = "acme"
	until := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name    string
		e       store.Event
		typ     string
		subject string
	}{
		{"tenant created names the tenant", TenantCreated(tid, ActorSeed), TypeTenantCreated, tid},
		{"client upserted names the client", ClientUpserted(tid, "web", ActorSeed), TypeClientUpserted, "web"},
		{"client deleted names the client", ClientDeleted(tid, "web", ActorCLI), TypeClientDeleted, "web"},
		{"user created names the user", UserCreated(tid, "u1", "admin"), TypeUserCreated, "u1"},
		{"user updated names the fields", UserUpdated(tid, "u1", "admin", []string{"email"}), TypeUserUpdated, "u1"},
		{"user disabled", UserDisabled(tid, "u1", "admin"), TypeUserDisabled, "u1"},
		{"user enabled", UserEnabled(tid, "u1", "admin"), TypeUserEnabled, "u1"},
		{"user deleted", UserDeleted(tid, "u1", "admin"), TypeUserDeleted, "u1"},
		{"password changed", PasswordChanged(tid, "u1", "u1"), TypePasswordChanged, "u1"},
		{"password rehashed", PasswordRehashed(tid, "u1"), TypePasswordRehashed, "u1"},
		{"password reset names the method", PasswordReset(tid, "u1", "link"), TypePasswordReset, "u1"},
		{"recovery requested names the account", RecoveryRequested(tid, "u1", "192.0.2.1"), TypeRecoveryRequested, "u1"},
		{"roles changed", RolesChanged(tid, "u1", "admin", nil), TypeRolesChanged, "u1"},
		{"login succeeded", LoginSucceeded(tid, "u1", "s1", "192.0.2.1", []string{"pwd"}, ""), TypeLoginSucceeded, "u1"},
		{"login failed for an unknown account has no subject", LoginFailed(tid, "", "192.0.2.1", ReasonUnknownUser), TypeLoginFailed, ""},
		{"account hard-locked", AccountHardLocked(tid, "u1", "192.0.2.1", 1000), TypeAccountLocked, "u1"},
		{"login throttled names the account", LoginThrottled(tid, "u1", "192.0.2.1", BudgetAccountIP, 10, until), TypeLoginThrottled, "u1"},
		{"attack detected names the account", AccountAttackDetected(tid, "u1", "192.0.2.1", 20), TypeAccountAttackDetected, "u1"},
		{"account unlocked names the account", AccountUnlocked(tid, "u1", "cli", UnlockOperator), TypeAccountUnlocked, "u1"},
		{"device remembered names the account", DeviceRemembered(tid, "u1", "192.0.2.1"), TypeDeviceRemembered, "u1"},
		{"risk assessed names the account", RiskAssessed(tid, "u1", "192.0.2.1", 55, "medium", RiskChallenged,
			[]string{"new_device", "new_network"}, "new device; new network"), TypeRiskAssessed, "u1"},
		{"session started names the session", SessionStarted(tid, "u1", "s1", "192.0.2.1"), TypeSessionStarted, "s1"},
		{"session ended names the session", SessionEnded(tid, "u1", "s1", "u1", ReasonLogout), TypeSessionEnded, "s1"},
		{"login request completed", LoginRequestCompleted(tid, "lr1", "u1", "web", []string{"openid"}), TypeLoginRequestCompleted, "lr1"},
		{"login request denied", LoginRequestDenied(tid, "lr1", "u1", "web"), TypeLoginRequestDenied, "lr1"},
		{"consent granted", ConsentGranted(tid, "u1", "web", []string{"openid"}), TypeConsentGranted, "u1"},
		{"consent revoked", ConsentRevoked(tid, "u1", "web", "u1"), TypeConsentRevoked, "u1"},
		{"code issued names the grant", CodeIssued(tid, "u1", "web", "g1"), TypeCodeIssued, "g1"},
		{"grant created", GrantCreated(tid, "u1", "web", "g1", []string{"openid"}), TypeGrantCreated, "g1"},
		{"grant revoked", GrantRevoked(tid, "u1", "web", "g1", "u1", "consent_revoked"), TypeGrantRevoked, "g1"},
		{"refresh reuse detected", RefreshReuseDetected(tid, "u1", "web", "g1"), TypeRefreshReuseDetected, "g1"},
		{"device code approved", DeviceCodeApproved(tid, "u1", "tv"), TypeDeviceCodeApproved, "u1"},
		{"device code denied", DeviceCodeDenied(tid, "u1", "tv"), TypeDeviceCodeDenied, "u1"},
		{"key rotated names the key", KeyRotated(tid, "kid1", "ES256", ActorSystem), TypeKeyRotated, "kid1"},
		{"SAML app upserted", SAMLAppUpserted(tid, ActorSeed, "https://sp.example.com"), TypeSAMLAppUpserted, ""},
		{"SAML app deleted", SAMLAppDeleted(tid, ActorCLI, "https://sp.example.com"), TypeSAMLAppDeleted, ""},
		{"API created names the API", APIChanged(TypeAPICreated, tid, ActorSeed, "a1", "https://api.example"), TypeAPICreated, "a1"},
		{"role updated names the role", RoleChanged(TypeRoleUpdated, tid, ActorCLI, "editor"), TypeRoleUpdated, "editor"},
		{"group member added names the group", GroupMember(TypeGroupMemberAdded, tid, ActorCLI, "g1", "u1"), TypeGroupMemberAdded, "g1"},
		{"organization deleted names it", OrganizationChanged(TypeOrganizationDeleted, tid, ActorCLI, "o1", "acme"), TypeOrganizationDeleted, "o1"},
		{"organization member roles changed", OrganizationMember(TypeOrganizationMemberRolesChanged, tid, ActorCLI, "o1", "u1", []string{"admin"}),
			TypeOrganizationMemberRolesChanged, "o1"},
		{"SAML response sent names the user", SAMLResponseSent(tid, "u1", "s1", "https://sp.example.com", "192.0.2.1", false), TypeSAMLResponseSent, "u1"},
	}
	typeForm := regexp.MustCompile(`^[a-z_]+\.[a-z_]+$`)
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.e.Type != tt.typ || tt.e.TenantID != tid || tt.e.Subject != tt.subject {
				t.Fatalf("event %+v: want type %s, tenant %s, subject %q", tt.e, tt.typ, tid, tt.subject)
			}
			if !typeForm.MatchString(tt.e.Type) {
				t.Fatalf("type %q is not object.past_participle", tt.e.Type)
			}
			b, err := json.Marshal(tt.e.Data)
			if err != nil {
				t.Fatalf("data does not encode: %v", err)
			}
			for _, secret := range []string{"password\"", "token", "secret", "code\"", "cookie", "hash"} {
				if strings.Contains(strings.ToLower(string(b)), secret) {
					t.Fatalf("data %s has a key that looks like a secret (%s)", b, secret)
				}
			}
		})
		seen[tt.typ] = true
	}
	if len(seen) != len(tests) {
		t.Fatalf("%d constructors but %d distinct types: two constructors share a type", len(tests), len(seen))
	}
	t.Run("the client appears in the client column", func(t *testing.T) {
		for _, e := range []store.Event{ConsentGranted(tid, "u1", "web", nil), GrantRevoked(tid, "u1", "web", "g", "u1", ""),
			ClientUpserted(tid, "web", "x"), CodeIssued(tid, "u", "web", "g")} {
			if e.ClientID != "web" {
				t.Errorf("%s: ClientID %q, want web", e.Type, e.ClientID)
			}
		}
	})
	t.Run("sign-in events carry the client IP", func(t *testing.T) {
		for _, e := range []store.Event{LoginSucceeded(tid, "u", "s", "192.0.2.1", nil, ""), LoginFailed(tid, "", "192.0.2.1", ""),
			AccountHardLocked(tid, "u", "192.0.2.1", 1), LoginThrottled(tid, "u", "192.0.2.1", BudgetIP, 1, until),
			AccountAttackDetected(tid, "u", "192.0.2.1", 1), SessionStarted(tid, "u", "s", "192.0.2.1"),
			RiskAssessed(tid, "u", "192.0.2.1", 0, "low", RiskAllowed, nil, "")} {
			if e.IP != "192.0.2.1" {
				t.Errorf("%s: IP %q", e.Type, e.IP)
			}
		}
	})
}
