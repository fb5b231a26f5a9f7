package config

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const (
	testSMSToken  = "twilio-token-5f3c9a1e"
	testSMSSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
)

func twilioSMS(s *SMS) {
	s.Provider, s.AccountSID, s.Secret, s.From = SMSTwilio, "AC0123456789abcdef0123456789abcdef", testSMSToken, "+15017122661"
}

func webhookSMS(s *SMS) {
	s.Provider, s.URL, s.Secret = SMSWebhook, "https://sms.example.com/umm?token=q-"+testSMSToken, testSMSSecret
}

func TestValidateSMS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		edit   func(*SMS)
		wantIn []string // each must be among the problems; none: valid
	}{
		{"the default (development mode) is valid", func(*SMS) {}, nil},
		{"twilio with its account, token and sender is valid", twilioSMS, nil},
		{"twilio with a messaging service is valid", func(s *SMS) { twilioSMS(s); s.From = "MG0123456789abcdef0123456789abcdef" }, nil},
		{"twilio with another https API base is valid", func(s *SMS) { twilioSMS(s); s.URL = "https://sms-gateway.example.com/twilio/" }, nil},
		{"twilio over http to loopback is valid", func(s *SMS) { twilioSMS(s); s.URL = "http://127.0.0.1:8089" }, nil},
		{"a webhook with a whsec_ secret is valid", webhookSMS, nil},
		{"a webhook with a raw secret of 16 bytes is valid", func(s *SMS) { webhookSMS(s); s.Secret = "0123456789abcdef" }, nil},
		{"a webhook over http to localhost is valid", func(s *SMS) { webhookSMS(s); s.URL = "http://localhost:9000/sms" }, nil},
		{"a webhook over http to [::1] is valid", func(s *SMS) { webhookSMS(s); s.URL = "http://[::1]:9000/sms" }, nil},

		{"an unknown provider", func(s *SMS) { s.Provider = "sns" }, []string{`sms.provider: "sns" must be empty`}},
		{"twilio without anything", func(s *SMS) { s.Provider = SMSTwilio },
			[]string{"sms.account_sid: set", "sms.secret: set the Twilio auth token", "sms.from: set"}},
		{"twilio with a sender that is no E.164 number", func(s *SMS) { twilioSMS(s); s.From = "0151 2345678" }, []string{"sms.from:", "E.164"}},
		{"twilio with a malformed messaging service", func(s *SMS) { twilioSMS(s); s.From = "MG-1" }, []string{"sms.from: a messaging service SID"}},
		{"twilio with an account that would change the path", func(s *SMS) { twilioSMS(s); s.AccountSID = "AC1/../x" }, []string{"sms.account_sid: must be letters and digits"}},
		{"twilio over http off loopback", func(s *SMS) { twilioSMS(s); s.URL = "http://api.twilio.com" }, []string{"sms.url: http://api.twilio.com must use https"}},
		{"twilio with a query on the API base", func(s *SMS) { twilioSMS(s); s.URL = "https://api.twilio.com?x=1" }, []string{"sms.url:", "without a query"}},
		{"a URL of another scheme", func(s *SMS) { webhookSMS(s); s.URL = "ftp://sms.example.com/x" }, []string{"sms.url: ftp://sms.example.com/x must be an https URL"}},
		{"a URL that is not absolute", func(s *SMS) { webhookSMS(s); s.URL = "sms.example.com/x" }, []string{"sms.url: must be an absolute URL"}},
		{"a URL with credentials", func(s *SMS) { webhookSMS(s); s.URL = "https://umm:" + testSMSToken + "@sms.example.com/x" }, []string{"sms.url:", "must not contain a user or password"}},
		{"a URL with a fragment", func(s *SMS) { webhookSMS(s); s.URL = "https://sms.example.com/x#" + testSMSToken }, []string{"must not contain a fragment"}},
		{"a webhook without url and secret", func(s *SMS) { s.Provider = SMSWebhook }, []string{"sms.url: set", "sms.secret: set the webhook signing secret"}},
		{"a webhook with a short secret", func(s *SMS) { webhookSMS(s); s.Secret = "short" }, []string{"sms.secret: the signing key is 5 bytes; use at least 16"}},
		{"a webhook with a whsec_ secret that is no base64", func(s *SMS) { webhookSMS(s); s.Secret = "whsec_%%%" + testSMSToken }, []string{"sms.secret: a secret starting with whsec_ must continue in base64"}},
		{"a webhook with a short whsec_ key", func(s *SMS) { webhookSMS(s); s.Secret = "whsec_c2hvcnQ=" }, []string{"sms.secret: the signing key is 5 bytes"}},
		{"a webhook with twilio's keys", func(s *SMS) { webhookSMS(s); s.AccountSID, s.From = "AC1", "+15017122661" },
			[]string{"sms.account_sid: only used with sms.provider twilio", "sms.from: only used"}},
		{"provider settings without a provider", func(s *SMS) { s.URL, s.Secret = "https://sms.example.com", testSMSToken },
			[]string{"sms.provider: empty (development mode: messages are written to files), but sms.url, sms.secret are set"}},
		{"development mode without a directory", func(s *SMS) { s.DevDir = "" }, []string{"sms.dev_dir: set"}},
		{"no timeout", func(s *SMS) { twilioSMS(s); s.Timeout = 0 }, []string{"sms.timeout: must be a positive duration"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Default()
			tt.edit(&c.SMS)
			err := c.Validate()
			if tt.wantIn == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted %v, want problems %q", c.SMS, tt.wantIn)
			}
			for _, w := range tt.wantIn {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate: %v\nwant it to mention %q", err, w)
				}
			}
			for _, s := range []string{testSMSToken, strings.TrimPrefix(testSMSSecret, "whsec_")} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("a problem shows the secret: %v", err)
				}
			}
		})
	}
}

func TestSMSFromTheEnvironment(t *testing.T) {
	t.Parallel()
	c, err := Load("", []string{"UMM_SMS_PROVIDER=webhook", "UMM_SMS_URL=https://sms.example.com/hook",
		"UMM_SMS_SECRET=" + testSMSSecret, "UMM_SMS_TIMEOUT=3s"})
	if err != nil {
		t.Fatal(err)
	}
	if c.SMS.Provider != SMSWebhook || c.SMS.Secret != testSMSSecret || c.SMS.URL != "https://sms.example.com/hook" || c.SMS.Timeout.String() != "3s" {
		t.Errorf("sms = %+v", c.SMS)
	}
	// A problem with a value from the environment names its variable, never the value.
	_, err = Load("", []string{"UMM_SMS_PROVIDER=webhook", "UMM_SMS_URL=https://sms.example.com/hook", "UMM_SMS_SECRET=tiny-" + testSMSToken[:4]})
	if err == nil || !strings.Contains(err.Error(), "sms.secret (UMM_SMS_SECRET): the signing key is") {
		t.Fatalf("Load: %v", err)
	}
	if strings.Contains(err.Error(), "tiny-") {
		t.Errorf("the problem shows the secret: %v", err)
	}
}

func TestSMSKeepsTheSecretOutOfPrints(t *testing.T) {
	t.Parallel()
	for _, edit := range []func(*SMS){twilioSMS, webhookSMS} {
		c := Default()
		edit(&c.SMS)
		var logged strings.Builder
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("sms", "config", c.SMS)
		slog.New(slog.NewTextHandler(&logged, nil)).Info("sms", "config", c.SMS)
		for _, out := range []string{fmt.Sprint(c.SMS), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c.SMS), fmt.Sprintf("%s", c.SMS),
			c.SMS.Describe(), logged.String()} {
			for _, s := range []string{testSMSToken, testSMSSecret} {
				if strings.Contains(out, s) {
					t.Errorf("the secret shows in %s", out)
				}
			}
		}
		if !strings.Contains(fmt.Sprint(c.SMS), "secret:REDACTED") {
			t.Errorf("%v does not say a secret is set", c.SMS)
		}
	}
	c := Default()
	twilioSMS(&c.SMS)
	if got, want := c.SMS.Describe(), "via Twilio at https://api.twilio.com, account AC0123456789abcdef0123456789abcdef, from +15017122661"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
	webhookSMS(&c.SMS)
	if got, want := c.SMS.Describe(), "via the signed webhook https://sms.example.com/umm..."; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
}

func TestWebhookKey(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		secret, want string
		ok           bool
	}{
		{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "1\xf2\x90\xf6\xbf\x06)\x8a\xabO\b\xd4<?\b,\xf6H\xa3b\xda-\xa4\xb0", true},
		{"whsec_c2VjcmV0", "secret", true},
		{"whsec_c2VjcmV0IQ", "secret!", true},
		{"a raw secret of any text", "a raw secret of any text", true},
		{"whsec_", "", false},
		{"whsec_!!", "", false},
		{"", "", false},
	} {
		k, err := WebhookKey(tt.secret)
		if (err == nil) != tt.ok || string(k) != tt.want {
			t.Errorf("WebhookKey(%q) = %q, %v; want %q", tt.secret, k, err, tt.want)
		}
		if err != nil && len(tt.secret) > len("whsec_") && strings.Contains(err.Error(), tt.secret) {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
}
