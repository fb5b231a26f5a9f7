package config

import (
	"strings"
	"testing"
	"time"
)

// profileTenant is a valid tenant with a profile block; tests replace parts of it.
const profileTenant = `
tenants:
  - id: acme
    registration:
      enabled: true
      allowed_email_domains: [example.com]
    profile:
      fields:
        - name: company
          type: string
          label: {en: Company, de: Firma}
          required: true
          registration: true
          editable: true
          max_length: 100
          claim: {scope: profile}
        - name: newsletter
          type: boolean
          label: {en: Send me the newsletter}
          registration: true
          editable: true
        - name: given_name
          required: true
      progressive:
        - {field: phone_number, after_sign_ins: 3}
    clients:
      - client_id: web
        client_secret: web-secret-1
        redirect_uris: [https://app.example.com/cb]
        grant_types: [authorization_code]
        required_profile_fields: [company, phone_number]
        initiate_login_uri: https://app.example.com/login
    users:
      - email: ada@example.com
        attributes: {company: Acme, newsletter: true, birthdate: 1990-12-10, address: {locality: Berlin}}
`

func TestProfileSeedLoads(t *testing.T) {
	t.Parallel()
	c, err := Load(writeFile(t, profileTenant), nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	ten := c.Tenants[0]
	if ten.Registration == nil || !ten.Registration.Enabled || !ten.Registration.EmailVerificationRequired() {
		t.Errorf("registration = %+v, want enabled with verification required by default", ten.Registration)
	}
	if r := ten.Registration; r.VerificationTTLD() != 15*time.Minute || r.UnverifiedRetentionD() != 7*24*time.Hour ||
		r.PerIP() != 20 || r.EmailsPerAddress() != 5 {
		t.Errorf("registration defaults: ttl %v, retention %v, per ip %d, per address %d", r.VerificationTTLD(),
			r.UnverifiedRetentionD(), r.PerIP(), r.EmailsPerAddress())
	}
	f, ok := ten.Profile.Field("company")
	if !ok || f.Label["de"] != "Firma" || *f.MaxLength != 100 || f.Claim.Scope != "profile" || !f.Required {
		t.Errorf("company = %+v", f)
	}
	if got := ten.Clients[0].RequiredProfileFields; len(got) != 2 || got[1] != "phone_number" {
		t.Errorf("required_profile_fields = %v", got)
	}
	attrs := ten.Users[0].Attributes
	if attrs["company"] != "Acme" || attrs["newsletter"] != true || attrs["birthdate"] != "1990-12-10" {
		t.Errorf("attributes = %#v; want typed YAML values, dates as written", attrs)
	}
	if addr, ok := attrs["address"].(map[string]any); !ok || addr["locality"] != "Berlin" {
		t.Errorf("address = %#v", attrs["address"])
	}
}

func TestRegistrationKeysLoad(t *testing.T) {
	t.Parallel()
	body := strings.Replace(profileTenant, "      enabled: true\n", `      enabled: true
      verification_ttl: 30m
      unverified_retention: 48h
      limits: {per_ip_per_hour: 50, emails_per_address_per_hour: 2}
`, 1)
	c, err := Load(writeFile(t, body), nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	r := c.Tenants[0].Registration
	if r.VerificationTTLD() != 30*time.Minute || r.UnverifiedRetentionD() != 48*time.Hour || r.PerIP() != 50 || r.EmailsPerAddress() != 2 {
		t.Errorf("registration = %+v", r)
	}
}

func TestProfileSeedProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		replace [2]string // in profileTenant
		want    []string
	}{
		{"an unknown type is named", [2]string{"type: boolean", "type: bool"},
			[]string{`tenants[0].profile.fields[1].type: "bool" is not one of string, email`}},
		{"a select without options is refused", [2]string{"type: boolean", "type: select"},
			[]string{"tenants[0].profile.fields[1].options: a select field needs at least one option"}},
		{"options on a string field are refused", [2]string{"max_length: 100", "options: [a]"},
			[]string{"tenants[0].profile.fields[0].options: only a select field has options"}},
		{"a bad pattern is refused", [2]string{"max_length: 100", "pattern: '[a-'"},
			[]string{"tenants[0].profile.fields[0].pattern: not a valid regular expression"}},
		{"a pattern on a boolean is refused", [2]string{"type: boolean", "type: boolean\n          pattern: x"},
			[]string{"tenants[0].profile.fields[1].pattern: only text fields"}},
		{"min greater than max is refused", [2]string{"type: boolean", "type: integer\n          min: 5\n          max: 1"},
			[]string{"tenants[0].profile.fields[1].min: 5 is greater than max 1"}},
		{"min_length greater than max_length is refused", [2]string{"max_length: 100", "max_length: 3\n          min_length: 4"},
			[]string{"tenants[0].profile.fields[0].min_length: 4 is greater than max_length 3"}},
		{"min on a string field is refused", [2]string{"max_length: 100", "min: 1"},
			[]string{"tenants[0].profile.fields[0].min: only integer fields"}},
		{"a custom field named like a standard claim with another type is refused", [2]string{"name: newsletter", "name: website"},
			[]string{`tenants[0].profile.fields[1].type: "website" is the standard claim website of type url`}},
		{"a standard claim with a claim scope is refused", [2]string{"name: company", "name: nickname"},
			[]string{`tenants[0].profile.fields[0].claim: "nickname" is a standard claim`}},
		{"a reserved claim name is refused", [2]string{"name: company", "name: email_verified"},
			[]string{`tenants[0].profile.fields[0].name: "email_verified" is a reserved claim name`}},
		{"sub is reserved", [2]string{"name: newsletter", "name: sub"},
			[]string{`tenants[0].profile.fields[1].name: "sub" is a reserved claim name`}},
		{"a name with capitals is refused", [2]string{"name: newsletter", "name: NewsLetter"},
			[]string{`tenants[0].profile.fields[1].name: "NewsLetter" must be 1-63 of a-z`}},
		{"a duplicate name is refused", [2]string{"name: newsletter", "name: company"},
			[]string{`tenants[0].profile.fields[1].name: "company" appears twice`}},
		{"openid as the claim scope is refused", [2]string{"scope: profile", "scope: openid"},
			[]string{"tenants[0].profile.fields[0].claim.scope: openid releases no profile claims"}},
		{"an empty label is refused", [2]string{"de: Firma", "de: ' '"},
			[]string{"tenants[0].profile.fields[0].label.de: the text must not be empty"}},
		{"a label under no language tag is refused", [2]string{"de: Firma", "german!: Firma"},
			[]string{`tenants[0].profile.fields[0].label.german!: "german!" is not a language tag`}},
		{"an allowed email domain in capitals is refused", [2]string{"[example.com]", "[Example.com]"},
			[]string{`tenants[0].registration.allowed_email_domains[0]: "Example.com" must be written in lower case`}},
		{"a verification_ttl under a minute is refused", [2]string{"enabled: true\n", "enabled: true\n      verification_ttl: 30s\n"},
			[]string{"tenants[0].registration.verification_ttl: 30s must lie between 1m and 24h"}},
		{"an unverified_retention under an hour is refused", [2]string{"enabled: true\n", "enabled: true\n      unverified_retention: 10m\n"},
			[]string{"tenants[0].registration.unverified_retention: 10m0s must be at least 1h"}},
		{"a negative registration limit is refused", [2]string{"enabled: true\n", "enabled: true\n      limits: {per_ip_per_hour: -1}\n"},
			[]string{"tenants[0].registration.limits.per_ip_per_hour: must not be negative"}},
		{"progressive naming an unknown field is refused", [2]string{"field: phone_number", "field: fax"},
			[]string{`tenants[0].profile.progressive[0].field: "fax" is neither a standard claim nor a field`}},
		{"progressive without a count is refused", [2]string{"after_sign_ins: 3", "after_sign_ins: 0"},
			[]string{"tenants[0].profile.progressive[0].after_sign_ins: must be at least 1"}},
		{"required_profile_fields naming an unknown field is refused", [2]string{"[company, phone_number]", "[company, fax]"},
			[]string{`tenants[0].clients[0].required_profile_fields[1]: "fax" is neither`}},
		{"an http initiate_login_uri is refused", [2]string{"https://app.example.com/login", "http://app.example.com/login"},
			[]string{"tenants[0].clients[0].initiate_login_uri: \"http://app.example.com/login\" must use https"}},
		{"a relative initiate_login_uri is refused", [2]string{"https://app.example.com/login", "/login"},
			[]string{"tenants[0].clients[0].initiate_login_uri: \"/login\" is not an absolute URL"}},
		{"an initiate_login_uri with a fragment is refused", [2]string{"https://app.example.com/login", "https://app.example.com/login#x"},
			[]string{"tenants[0].clients[0].initiate_login_uri: \"https://app.example.com/login#x\" must not have a fragment"}},
		{"an allowed email domain with @ is refused", [2]string{"[example.com]", "['@example.com']"},
			[]string{`tenants[0].registration.allowed_email_domains[0]: "@example.com" is not a domain name`}},
		{"a seed attribute the schema does not know is refused", [2]string{"company: Acme,", "fax: 1,"},
			[]string{"tenants[0].users[0].attributes.fax: neither a standard claim nor a field"}},
		{"a seed attribute given_name points to its own key", [2]string{"company: Acme,", "given_name: Ada,"},
			[]string{"tenants[0].users[0].attributes.given_name: set it with tenants[0].users[0].given_name"}},
		{"an unknown key in a field is named", [2]string{"max_length: 100", "maxlength: 100"},
			[]string{"tenants[0].profile.fields[0].maxlength: unknown key"}},
		{"a label that is not a mapping is named", [2]string{"label: {en: Company, de: Firma}", "label: Company"},
			[]string{"tenants[0].profile.fields[0].label: expected a mapping"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := strings.Replace(profileTenant, tt.replace[0], tt.replace[1], 1)
			if body == profileTenant {
				t.Fatalf("replacement %q not found", tt.replace[0])
			}
			_, err := Load(writeFile(t, body), nil)
			if err == nil {
				t.Fatalf("Load succeeded; want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestProfileSeedReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	body := strings.NewReplacer("type: boolean", "type: select", "field: phone_number", "field: fax",
		"https://app.example.com/login", "ftp://x").Replace(profileTenant)
	_, err := Load(writeFile(t, body), nil)
	if err == nil {
		t.Fatal("Load succeeded")
	}
	for _, w := range []string{"fields[1].options", "progressive[0].field", "initiate_login_uri"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not mention %q:\n%v", w, err)
		}
	}
}

func TestCheckInitiateLoginURIAllowsLoopbackHTTP(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"http://localhost:3000/login", "http://127.0.0.1/login", "http://[::1]:8080/", "https://a.example/x?y=1"} {
		if err := CheckInitiateLoginURI(u); err != nil {
			t.Errorf("CheckInitiateLoginURI(%q) = %v, want nil", u, err)
		}
	}
}
