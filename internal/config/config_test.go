package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "umm.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default() is invalid: %v", err)
	}
	if c.Server.Addr != "localhost:8080" || c.Server.PublicURL != "http://localhost:8080" || c.Database.URL != "sqlite:data/umm.db" {
		t.Fatalf("unexpected defaults: %+v", c.Server)
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		env   []string
		want  []string // substrings that must all appear in the error; nil means success
		check func(t *testing.T, c Config)
	}{
		{
			name: "a full file with the seed block loads",
			yaml: `
server:
  addr: 0.0.0.0:9000
  public_url: https://id.example.com
  write_timeout: 45s
database:
  url: postgres://u@db/umm
log:
  level: debug
  format: text
tenants:
  - id: acme
    name: Acme
    clients:
      - client_id: web
        client_secret: web-secret
        redirect_uris: [http://127.0.0.1:9100/cb]
        grant_types: [authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code]
        token_endpoint_auth_method: client_secret_basic
        scopes: [openid, profile]
        first_party: true
    users:
      - email: alice@example.com
        password: "Correct-Horse-9"
        roles: [admin]
`,
			check: func(t *testing.T, c Config) {
				if c.Server.PublicURL != "https://id.example.com" || c.Server.WriteTimeout.D() != 45*time.Second {
					t.Errorf("server = %+v", c.Server)
				}
				if len(c.Tenants) != 1 || c.Tenants[0].Clients[0].ClientSecret != "web-secret" || !c.Tenants[0].Clients[0].FirstParty {
					t.Errorf("tenants = %+v", c.Tenants)
				}
				if c.Tenants[0].Users[0].Roles[0] != "admin" {
					t.Errorf("users = %+v", c.Tenants[0].Users)
				}
			},
		},
		{
			name: "an unknown key is named by its path",
			yaml: "server:\n  adress: x\n",
			want: []string{"server.adress: unknown key"},
		},
		{
			name: "every problem is listed at once, decoding and validation alike",
			yaml: "server:\n  adress: x\n  read_timeout: soon\nlog:\n  level: loud\ntenants:\n  - id: Bad_ID\n    clients:\n      - client_id: c\n        grant_types: [implicit]\n        redirect_uris: [\"javascript:alert(1)\"]\n",
			want: []string{"server.adress: unknown key", "server.read_timeout", "log.level", "tenants[0].id", "tenants[0].clients[0].grant_types", "tenants[0].clients[0].redirect_uris[0]"},
		},
		{
			name: "a bad value names its key and line",
			yaml: "server:\n  max_body_bytes: lots\n",
			want: []string{"server.max_body_bytes", "not a whole number", "line 2"},
		},
		{
			name: "an environment variable overrides the file",
			yaml: "server:\n  public_url: http://a.example\n",
			env:  []string{"UMM_SERVER_PUBLIC_URL=https://b.example", "UMM_LOG_LEVEL=warn", "UMM_SECURITY_TRUSTED_PROXIES=10.0.0.0/8, 192.168.0.0/16"},
			check: func(t *testing.T, c Config) {
				if c.Server.PublicURL != "https://b.example" || c.Log.Level != "warn" || len(c.Security.TrustedProxies) != 2 {
					t.Errorf("env not applied: %+v %+v %v", c.Server, c.Log, c.Security.TrustedProxies)
				}
			},
		},
		{
			name: "an unknown UMM_ variable does not stop the start",
			env:  []string{"UMM_SERVER_PUBLIK_URL=x"},
			check: func(t *testing.T, c Config) {
				if c.Server.PublicURL != Default().Server.PublicURL {
					t.Errorf("public_url = %q, want the default", c.Server.PublicURL)
				}
			},
		},
		{
			name: "test-suite variables are left alone",
			env:  []string{"UMM_TEST_POSTGRES_URL=postgres://x"},
		},
		{
			name: "a bad environment value names the key and the variable",
			env:  []string{"UMM_SERVER_IDLE_TIMEOUT=forever"},
			want: []string{"server.idle_timeout (UMM_SERVER_IDLE_TIMEOUT)"},
		},
		{
			name: "a client's logout URIs load",
			yaml: "tenants:\n  - id: a\n    clients:\n      - client_id: c\n        token_endpoint_auth_method: none\n        redirect_uris: [https://app.example.com/cb]\n" +
				"        backchannel_logout_uri: https://app.example.com/bc\n        backchannel_logout_session_required: true\n" +
				"        frontchannel_logout_uri: http://127.0.0.1:9000/fc\n        frontchannel_logout_session_required: true\n",
			check: func(t *testing.T, c Config) {
				cl := c.Tenants[0].Clients[0]
				if cl.BackchannelLogoutURI != "https://app.example.com/bc" || !cl.BackchannelLogoutSessionRequired ||
					cl.FrontchannelLogoutURI != "http://127.0.0.1:9000/fc" || !cl.FrontchannelLogoutSessionRequired {
					t.Errorf("client = %+v", cl)
				}
			},
		},
		{
			name: "bad logout URIs are refused with what to fix",
			yaml: "tenants:\n  - id: a\n    clients:\n      - client_id: c\n        token_endpoint_auth_method: none\n        redirect_uris: [https://app.example.com/cb]\n" +
				"        backchannel_logout_uri: http://app.example.com/bc\n        frontchannel_logout_uri: https://app.example.com/fc#top\n" +
				"      - client_id: d\n        token_endpoint_auth_method: none\n        redirect_uris: [https://app.example.com/cb]\n" +
				"        backchannel_logout_session_required: true\n",
			want: []string{"tenants[0].clients[0].backchannel_logout_uri", "must use https", "tenants[0].clients[0].frontchannel_logout_uri",
				"fragment", "tenants[0].clients[1].backchannel_logout_session_required: needs backchannel_logout_uri"},
		},
		{
			name: "a public client with a secret is refused",
			yaml: "tenants:\n  - id: a\n    clients:\n      - client_id: c\n        client_secret: abcdefghij\n        token_endpoint_auth_method: none\n",
			want: []string{"tenants[0].clients[0].client_secret"},
		},
		{
			name: "a duplicate user email is refused case-insensitively",
			yaml: "tenants:\n  - id: a\n    users:\n      - email: A@example.com\n      - email: a@EXAMPLE.com\n",
			want: []string{"tenants[0].users[1].email"},
		},
		{
			name: "a duplicate user email is refused after Unicode normalisation",
			yaml: "tenants:\n  - id: a\n    users:\n      - email: alice@example.com\n      - email: \"ＡＬＩＣＥ@Example.com\"\n",
			want: []string{"tenants[0].users[1].email", "appears twice"},
		},
		{
			name: "a negative tenant lifetime is refused by its key path",
			yaml: "tenants:\n  - id: a\n    settings:\n      session_idle: -1h\n      code_ttl: 30s\n",
			want: []string{"tenants[0].settings.session_idle: must not be negative"},
		},
		{
			name: "a redirect URI with a fragment is refused",
			yaml: "tenants:\n  - id: a\n    clients:\n      - client_id: c\n        client_secret: abcdefghij\n        grant_types: [authorization_code]\n        redirect_uris: [\"https://a.example/cb#x\"]\n",
			want: []string{"fragment"},
		},
		{
			name: "an allowed origin with a path or a wildcard is refused, naming the entry",
			yaml: "tenants:\n  - id: a\n    clients:\n      - client_id: c\n        redirect_uris: [\"https://a.example/cb\"]\n        token_endpoint_auth_method: none\n        allowed_origins: [\"https://app.example/spa\", \"https://*.example\", \"https://ok.example\"]\n",
			want: []string{"tenants[0].clients[0].allowed_origins[0]", "without path", "tenants[0].clients[0].allowed_origins[1]", "wildcards"},
		},
		{
			name: "a client_id with a space is refused by the seed as by the admin service",
			yaml: "tenants:\n  - id: a\n    clients:\n      - client_id: my app\n        client_secret: abcdefghij\n        grant_types: [client_credentials]\n",
			want: []string{"tenants[0].clients[0].client_id", "visible ASCII"},
		},
		{
			name: "a public URL with an upper-case scheme is refused",
			env:  []string{"UMM_SERVER_PUBLIC_URL=HTTPS://id.example.com"},
			want: []string{"server.public_url", "lower-case"},
		},
		{
			name: "a token lifetime beyond key retention is refused",
			yaml: "keys:\n  retain_retired: 2h\ntenants:\n  - id: a\n    settings:\n      access_token_ttl: 3h\n",
			want: []string{"tenants[0].settings.access_token_ttl", "keys.retain_retired"},
		},
		{
			name: "a bad master key is explained",
			env:  []string{"UMM_SECRETS_MASTER_KEY=c2hvcnQ="},
			want: []string{"secrets.master_key", "32"},
		},
		{
			name: "a hard lock at or below the per-IP lockout is refused, as one client could lock everyone out",
			yaml: "security:\n  account_lockout_threshold: 10\n  account_hard_lock_threshold: 10\n",
			want: []string{"security.account_hard_lock_threshold", "far above"},
		},
		{
			name: "a known browser's budget below the per-IP one is refused",
			yaml: "security:\n  device_lockout_threshold: 5\n",
			want: []string{"security.device_lockout_threshold"},
		},
		{
			name: "metrics on the public address, a short metrics token and a short event retention are refused",
			yaml: "server:\n  addr: localhost:8080\n  metrics_addr: localhost:8080\n  metrics_token: short\nevents:\n  retention: 1h\n",
			want: []string{"server.metrics_addr", "server.metrics_token", "events.retention"},
		},
		{
			name: "zero row caps are refused by their keys",
			yaml: "security:\n  pending_login_requests_per_ip: 0\n  pending_device_codes_per_client: 0\n",
			want: []string{"security.pending_login_requests_per_ip", "security.pending_device_codes_per_client"},
		},
		{
			name: "a bad previous master key names its position",
			yaml: "secrets:\n  previous_master_keys: [AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=, c2hvcnQ=]\n",
			want: []string{"secrets.previous_master_keys[1]", "32"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.yaml != "" {
				path = writeFile(t, tt.yaml)
			}
			c, err := Load(path, tt.env)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if tt.check != nil {
					tt.check(t, c)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load succeeded; want errors containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestEnvNamesAreDerivedFromKeys(t *testing.T) {
	names := EnvNames()
	for env, path := range map[string]string{
		"UMM_SERVER_PUBLIC_URL":          "server.public_url",
		"UMM_DATABASE_URL":               "database.url",
		"UMM_SECRETS_MASTER_KEY_FILE":    "secrets.master_key_file",
		"UMM_SECURITY_ARGON2_MEMORY_KIB": "security.argon2_memory_kib",
		"UMM_KEYS_ROTATION_INTERVAL":     "keys.rotation_interval",
		"UMM_TENANTS":                    "tenants",
	} {
		if names[env] != path {
			t.Errorf("%s maps to %q, want %q", env, names[env], path)
		}
	}
}

func TestMissingFileIsReported(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "absent.yaml"), nil)
	if err == nil || !strings.Contains(err.Error(), "absent.yaml") {
		t.Fatalf("err = %v", err)
	}
}

// TestEveryKeyCanBeSetFromTheEnvironment sets each UMM_ variable to a value that is not the default and
// checks that it lands in its key. The table must name every variable EnvNames derives, so a new key
// cannot be added without this proof.
func TestEveryKeyCanBeSetFromTheEnvironment(t *testing.T) {
	tests := map[string]struct{ value, want string }{
		"UMM_SERVER_ADDR":                              {"0.0.0.0:9000", "0.0.0.0:9000"},
		"UMM_SERVER_PUBLIC_URL":                        {"https://id.example.com", "https://id.example.com"},
		"UMM_SERVER_READ_HEADER_TIMEOUT":               {"3s", "3s"},
		"UMM_SERVER_READ_TIMEOUT":                      {"42s", "42s"},
		"UMM_SERVER_WRITE_TIMEOUT":                     {"43s", "43s"},
		"UMM_SERVER_IDLE_TIMEOUT":                      {"44s", "44s"},
		"UMM_SERVER_SHUTDOWN_TIMEOUT":                  {"45s", "45s"},
		"UMM_SERVER_MAX_BODY_BYTES":                    {"2048", "2048"},
		"UMM_SERVER_MAX_HEADER_BYTES":                  {"8192", "8192"},
		"UMM_DATABASE_URL":                             {"postgres://u@db/umm", "postgres://u@db/umm"},
		"UMM_DATABASE_MAX_OPEN_CONNS":                  {"5", "5"},
		"UMM_DATABASE_DIRECT_URL":                      {"postgres://u@db-direct/umm", "postgres://u@db-direct/umm"},
		"UMM_SECRETS_MASTER_KEY":                       {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="},
		"UMM_SECRETS_MASTER_KEY_FILE":                  {"/etc/umm/master.key", "/etc/umm/master.key"},
		"UMM_SECRETS_PREVIOUS_MASTER_KEYS":             {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "[AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=]"},
		"UMM_SECRETS_PREVIOUS_MASTER_KEY_FILES":        {"/etc/umm/old.key, /etc/umm/older.key", "[/etc/umm/old.key /etc/umm/older.key]"},
		"UMM_LOG_LEVEL":                                {"debug", "debug"},
		"UMM_LOG_FORMAT":                               {"text", "text"},
		"UMM_KEYS_ROTATION_INTERVAL":                   {"24h", "24h0m0s"},
		"UMM_KEYS_RETAIN_RETIRED":                      {"48h", "48h0m0s"},
		"UMM_SECURITY_ARGON2_MEMORY_KIB":               {"65536", "65536"},
		"UMM_SECURITY_ARGON2_ITERATIONS":               {"3", "3"},
		"UMM_SECURITY_ARGON2_PARALLELISM":              {"2", "2"},
		"UMM_SECURITY_MAX_CONCURRENT_HASHES":           {"4", "4"},
		"UMM_SECURITY_ACCOUNT_LOCKOUT_THRESHOLD":       {"7", "7"},
		"UMM_SECURITY_ACCOUNT_LOCKOUT_DURATION":        {"5m", "5m0s"},
		"UMM_SECURITY_IP_LIMIT_PER_MINUTE":             {"30", "30"},
		"UMM_SECURITY_TRUSTED_PROXIES":                 {"10.0.0.0/8, 192.168.0.0/16", "[10.0.0.0/8 192.168.0.0/16]"},
		"UMM_SECURITY_JWKS_URI_ALLOW_PRIVATE_NETWORKS": {"true", "true"},
		"UMM_TENANTS":                                  {`[{id: acme, name: Acme}]`, "[{acme Acme <nil> [] [] <nil> <nil> <nil>  <nil> map[] <nil> <nil> <nil> <nil> <nil> [] [] [] [] [] []}]"},

		"UMM_SERVER_METRICS_ADDR":                         {"127.0.0.1:9191", "127.0.0.1:9191"},
		"UMM_SERVER_METRICS_TOKEN":                        {"a-metrics-token-0123", "a-metrics-token-0123"},
		"UMM_SECURITY_DEVICE_LOCKOUT_THRESHOLD":           {"50", "50"},
		"UMM_SECURITY_ACCOUNT_HARD_LOCK_THRESHOLD":        {"500", "500"},
		"UMM_SECURITY_ACCOUNT_ATTACK_THRESHOLD":           {"30", "30"},
		"UMM_SECURITY_ACCOUNT_FAILURE_WINDOW":             {"12h", "12h0m0s"},
		"UMM_SECURITY_DEVICE_COOKIE_TTL":                  {"720h", "720h0m0s"},
		"UMM_SECURITY_PENDING_LOGIN_REQUESTS_PER_IP":      {"100", "100"},
		"UMM_SECURITY_PENDING_LOGIN_REQUESTS_PER_BROWSER": {"5", "5"},
		"UMM_SECURITY_PENDING_DEVICE_CODES_PER_IP":        {"7", "7"},
		"UMM_SECURITY_PENDING_DEVICE_CODES_PER_CLIENT":    {"70", "70"},
		"UMM_EVENTS_RETENTION":                            {"48h", "48h0m0s"},

		"UMM_EMAIL_SMTP_URL": {"smtps://umm:pw@smtp.example.com", "smtps://umm:pw@smtp.example.com"},
		"UMM_EMAIL_FROM":     {"Acme <accounts@acme.example>", "Acme <accounts@acme.example>"},
		"UMM_EMAIL_TIMEOUT":  {"10s", "10s"},
		"UMM_EMAIL_DEV_DIR":  {"/var/mail/umm", "/var/mail/umm"},
		"UMM_TEMPLATES_DIR":  {"/etc/umm/templates", "/etc/umm/templates"},

		"UMM_RISK_GEOIP_DB":                  {"config.go", "config.go"}, // must be readable: any file of this package
		"UMM_RISK_WEIGHTS_NEW_DEVICE":        {"36", "36"},
		"UMM_RISK_WEIGHTS_NEW_NETWORK":       {"21", "21"},
		"UMM_RISK_WEIGHTS_NEW_COUNTRY":       {"26", "26"},
		"UMM_RISK_WEIGHTS_IMPOSSIBLE_TRAVEL": {"41", "41"},
		"UMM_RISK_WEIGHTS_IP_FAILURES":       {"31", "31"},
		"UMM_RISK_WEIGHTS_BREACHED_PASSWORD": {"26", "26"},
		"UMM_RISK_WEIGHTS_DORMANT":           {"11", "11"},
		"UMM_RISK_WEIGHTS_DENY_LIST":         {"99", "99"},
		"UMM_RISK_THRESHOLDS_MEDIUM":         {"40", "40"},
		"UMM_RISK_THRESHOLDS_HIGH":           {"80", "80"},
		"UMM_RISK_ALLOW":                     {"10.0.0.0/8, 2001:db8::/32", "[10.0.0.0/8 2001:db8::/32]"},
		"UMM_RISK_DENY":                      {"198.51.100.0/24", "[198.51.100.0/24]"},
		"UMM_RISK_IP_FAILURES_WINDOW":        {"5m", "5m0s"},
		"UMM_RISK_IP_FAILURES_THRESHOLD":     {"20", "20"},
		"UMM_RISK_DORMANT_AFTER":             {"720h", "720h0m0s"},
		"UMM_SMS_PROVIDER":                   {"twilio", "twilio"},
		"UMM_SMS_URL":                        {"https://sms.example.com/hook", "https://sms.example.com/hook"},
		"UMM_SMS_SECRET":                     {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		"UMM_SMS_ACCOUNT_SID":                {"AC0123456789abcdef0123456789abcdef", "AC0123456789abcdef0123456789abcdef"},
		"UMM_SMS_FROM":                       {"+15017122661", "+15017122661"},
		"UMM_SMS_TIMEOUT":                    {"4s", "4s"},
		"UMM_SMS_DEV_DIR":                    {"/var/lib/umm/sms", "/var/lib/umm/sms"},
		"UMM_ADMIN_TENANT":                   {"operators", "operators"},
		"UMM_ADMIN_RATE_LIMIT_PER_SECOND":    {"20", "20"},
		"UMM_ADMIN_RATE_LIMIT_BURST":         {"40", "40"},
		"UMM_WEBHOOKS_ALLOW_PRIVATE_TARGETS": {"true", "true"},
		"UMM_WEBHOOKS_TIMEOUT":               {"7s", "7s"},
	}
	// Keys that are only valid together with another one.
	companions := map[string][]string{
		"UMM_EMAIL_SMTP_URL":  {"UMM_EMAIL_FROM=accounts@example.com"},
		"UMM_SMS_PROVIDER":    {"UMM_SMS_ACCOUNT_SID=AC1", "UMM_SMS_SECRET=token", "UMM_SMS_FROM=+15017122661"},
		"UMM_SMS_URL":         {"UMM_SMS_PROVIDER=webhook", "UMM_SMS_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		"UMM_SMS_SECRET":      {"UMM_SMS_PROVIDER=webhook", "UMM_SMS_URL=https://sms.example.com/hook"},
		"UMM_SMS_ACCOUNT_SID": {"UMM_SMS_PROVIDER=twilio", "UMM_SMS_SECRET=token", "UMM_SMS_FROM=+15017122661"},
		"UMM_SMS_FROM":        {"UMM_SMS_PROVIDER=twilio", "UMM_SMS_SECRET=token", "UMM_SMS_ACCOUNT_SID=AC1"},
	}
	names := EnvNames()
	for env := range names {
		if _, ok := tests[env]; !ok {
			t.Errorf("%s (%s) has no case here", env, names[env])
		}
	}
	for env, tt := range tests {
		t.Run(env+" sets "+names[env], func(t *testing.T) {
			path, ok := names[env]
			if !ok {
				t.Fatalf("%s is not a known variable", env)
			}
			c, err := Load("", append([]string{env + "=" + tt.value}, companions[env]...))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			v, err := fieldByPath(reflect.ValueOf(&c).Elem(), path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(v.Interface()); got != tt.want {
				t.Fatalf("%s = %s, want %s", path, got, tt.want)
			}
		})
	}
}
