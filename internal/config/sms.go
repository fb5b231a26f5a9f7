package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// SMS configures how UMM sends text messages (sign-in codes). With a provider they go to Twilio's REST
// API (or a service speaking it) or to a signed webhook of the operator's own; without one (development
// mode) every message is written as a text file into DevDir, so that a code can be read on a laptop.
type SMS struct {
	// Provider is "" (development mode), SMSTwilio or SMSWebhook.
	Provider string `yaml:"provider"`
	// URL is, for twilio, the API base (empty: DefaultTwilioURL); for webhook, the endpoint messages are
	// POSTed to. https, except to a loopback host.
	URL string `yaml:"url"`
	// Secret is Twilio's auth token, or the webhook signing secret: "whsec_" and base64 (the Standard
	// Webhooks form), or any other text, whose bytes are the key. Never logged nor shown in errors.
	Secret string `yaml:"secret"`
	// AccountSID is the Twilio account (twilio only).
	AccountSID string `yaml:"account_sid"`
	// From is the Twilio sender: a number in E.164 (+15017122661) or a messaging service SID (MG...).
	From string `yaml:"from"`
	// Timeout bounds one delivery: connecting, the TLS handshake, the request and its answer.
	Timeout Duration `yaml:"timeout"`
	// DevDir is where messages are written without a provider.
	DevDir string `yaml:"dev_dir"`
}

// SMS providers.
const (
	SMSDev     = ""        // development mode: files in sms.dev_dir
	SMSTwilio  = "twilio"  // Twilio's Messages API, or one compatible with it
	SMSWebhook = "webhook" // a signed POST (Standard Webhooks) to the operator's endpoint
)

// DefaultTwilioURL is the API base when sms.url is empty with provider twilio.
const DefaultTwilioURL = "https://api.twilio.com"

// MinWebhookKeyBytes is the shortest webhook signing key accepted: a short key can be guessed from a
// signed message offline.
const MinWebhookKeyBytes = 16

func defaultSMS() SMS {
	return SMS{Timeout: Duration(10 * time.Second), DevDir: "data/sms"}
}

// Enabled reports whether messages leave the machine (false: development mode, files in DevDir).
func (s SMS) Enabled() bool { return s.Provider != SMSDev }

// BaseURL is sms.url without a trailing slash, Twilio's own API when it is empty with provider twilio.
func (s SMS) BaseURL() string {
	if s.URL == "" && s.Provider == SMSTwilio {
		return DefaultTwilioURL
	}
	return strings.TrimRight(s.URL, "/")
}

// Describe is a line for the start banner and logs: the provider and where messages go, never the
// secret, nor a webhook URL's query (which may carry a token).
func (s SMS) Describe() string {
	switch s.Provider {
	case SMSDev:
		return "written to " + s.DevDir + " as text files (development mode: set sms.provider to send SMS)"
	case SMSTwilio:
		return fmt.Sprintf("via Twilio at %s, account %s, from %s", redactURL(s.BaseURL()), s.AccountSID, s.From)
	case SMSWebhook:
		return "via the signed webhook " + redactURL(s.URL)
	}
	return "sms.provider is invalid"
}

// String keeps the secret out of anything that prints the section with %v or %s.
func (s SMS) String() string {
	return fmt.Sprintf("{provider:%q url:%q secret:%s account_sid:%q from:%q timeout:%s dev_dir:%q}",
		s.Provider, redactURL(s.URL), redactedSecret(s.Secret), s.AccountSID, s.From, s.Timeout, s.DevDir)
}

// GoString keeps the secret out of %#v.
func (s SMS) GoString() string { return "config.SMS" + s.String() }

// LogValue keeps the secret out of structured logs.
func (s SMS) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("provider", s.Provider), slog.String("url", redactURL(s.URL)),
		slog.String("secret", redactedSecret(s.Secret)), slog.String("account_sid", s.AccountSID),
		slog.String("from", s.From), slog.String("timeout", s.Timeout.String()), slog.String("dev_dir", s.DevDir))
}

func redactedSecret(s string) string {
	if s == "" {
		return `""`
	}
	return "REDACTED"
}

// redactURL is raw without user information, query and fragment, which may carry credentials; raw itself
// when it is no URL that can be taken apart, minus anything after a '?' or '#'.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexAny(raw, "?#@"); i >= 0 {
			return raw[:i] + "..."
		}
		return raw
	}
	out := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, Opaque: u.Opaque}
	s := out.String()
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		s += "..."
	}
	return s
}

// WebhookKey is the HMAC key of a webhook signing secret: the bytes "whsec_<base64>" encodes, as the
// Standard Webhooks specification writes secrets, or else the secret's own bytes. Its errors never
// contain the secret.
func WebhookKey(secret string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if k, err := enc.DecodeString(rest); err == nil {
				if len(k) == 0 {
					break
				}
				return k, nil
			}
		}
		return nil, errors.New("a secret starting with whsec_ must continue in base64")
	}
	if secret == "" {
		return nil, errors.New("the secret is empty")
	}
	return []byte(secret), nil
}

var (
	smsE164       = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	smsServiceSID = regexp.MustCompile(`^MG[0-9A-Za-z]{1,62}$`)
	smsAccountSID = regexp.MustCompile(`^[0-9A-Za-z]{1,64}$`)
)

// validateSMS checks the sms section. No problem quotes the secret, nor a URL's user information or query.
func validateSMS(s SMS) Problems {
	var p Problems
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if s.Timeout <= 0 {
		add("sms.timeout: must be a positive duration such as 10s")
	}
	switch s.Provider {
	case SMSDev:
		if s.DevDir == "" {
			add("sms.dev_dir: set the directory for SMS files when sms.provider is empty")
		}
		var set []string
		for _, k := range []struct{ key, v string }{{"url", s.URL}, {"secret", s.Secret}, {"account_sid", s.AccountSID}, {"from", s.From}} {
			if k.v != "" {
				set = append(set, "sms."+k.key)
			}
		}
		// Settings for a provider without one would leave sign-in codes in files on a server.
		if len(set) > 0 {
			add("sms.provider: empty (development mode: messages are written to files), but %s %s set; set sms.provider to twilio or webhook",
				strings.Join(set, ", "), map[bool]string{true: "is", false: "are"}[len(set) == 1])
		}
		return p
	case SMSTwilio:
		if s.AccountSID == "" {
			add("sms.account_sid: set the Twilio account SID (AC...) with sms.provider twilio")
		} else if !smsAccountSID.MatchString(s.AccountSID) {
			add("sms.account_sid: must be letters and digits only, such as AC followed by 32 hexadecimal digits")
		}
		if s.Secret == "" {
			add("sms.secret: set the Twilio auth token with sms.provider twilio (prefer UMM_SMS_SECRET to the file)")
		}
		switch {
		case s.From == "":
			add("sms.from: set the sender with sms.provider twilio: a number in E.164 such as +15017122661, or a messaging service SID (MG...)")
		case strings.HasPrefix(s.From, "MG"):
			if !smsServiceSID.MatchString(s.From) {
				add("sms.from: a messaging service SID is MG followed by letters and digits only")
			}
		case !smsE164.MatchString(s.From):
			add("sms.from: %q must be a number in E.164 (+, the country code and the number, digits only, such as +15017122661) or a messaging service SID (MG...)", s.From)
		}
		if s.URL != "" {
			p = append(p, checkSMSURL(s.URL, false)...)
		}
	case SMSWebhook:
		if s.URL == "" {
			add("sms.url: set the endpoint messages are POSTed to with sms.provider webhook, such as https://sms.example.com/umm")
		} else {
			p = append(p, checkSMSURL(s.URL, true)...)
		}
		if s.Secret == "" {
			add("sms.secret: set the webhook signing secret with sms.provider webhook, such as whsec_ and 32 random bytes in base64 (prefer UMM_SMS_SECRET to the file)")
		} else if k, err := WebhookKey(s.Secret); err != nil {
			add("sms.secret: %v", err)
		} else if len(k) < MinWebhookKeyBytes {
			add("sms.secret: the signing key is %d bytes; use at least %d, such as whsec_ and 32 random bytes in base64 (openssl rand -base64 32)", len(k), MinWebhookKeyBytes)
		}
		for _, k := range []struct{ key, v string }{{"account_sid", s.AccountSID}, {"from", s.From}} {
			if k.v != "" {
				add("sms.%s: only used with sms.provider twilio; remove it", k.key)
			}
		}
	default:
		add("sms.provider: %q must be empty (development mode: files in sms.dev_dir), twilio or webhook", s.Provider)
	}
	return p
}

// checkSMSURL checks sms.url: an absolute https URL (http to a loopback host), without user information
// (the secret has its own key) or fragment; a query only for a webhook.
func checkSMSURL(raw string, webhook bool) Problems {
	example := "https://api.twilio.com"
	if webhook {
		example = "https://sms.example.com/umm"
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		// url's errors quote the whole URL, credentials included.
		return Problems{"sms.url: must be an absolute URL such as " + example}
	}
	shown := redactURL(raw)
	var p Problems
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && LoopbackHost(u.Hostname()):
	case u.Scheme == "http":
		p = append(p, fmt.Sprintf("sms.url: %s must use https (http only to localhost or a loopback address)", shown))
	default:
		p = append(p, fmt.Sprintf("sms.url: %s must be an https URL such as %s", shown, example))
	}
	if u.User != nil {
		p = append(p, fmt.Sprintf("sms.url: %s must not contain a user or password; put the credential in sms.secret", shown))
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		p = append(p, fmt.Sprintf("sms.url: %s must not contain a fragment", shown))
	}
	if !webhook && (u.RawQuery != "" || strings.Contains(raw, "?")) {
		p = append(p, fmt.Sprintf("sms.url: %s is the API base, without a query, such as %s", shown, example))
	}
	return p
}
