package config

import (
	"fmt"
	"net"
	"slices"
	"strings"
)

// MFA policies (tenants[].mfa.policy and clients[].mfa_policy).
const (
	MFAOff      = "off"      // never a second factor
	MFAOptional = "optional" // a user who enrolled a factor is asked for it; others are not
	MFARequired = "required" // every user signs in with two factors; one without a factor enrols one
	MFAAdaptive = "adaptive" // the risk engine decides: low → none, medium → second factor, high → blocked
)

// Second factors (tenants[].mfa.factors).
const (
	FactorTOTP     = "totp"
	FactorWebAuthn = "webauthn"
	FactorEmail    = "email"
	FactorSMS      = "sms"
)

// Sign-in methods (tenants[].login.methods): what the identifier-first page may offer as the first step.
const (
	MethodPassword  = "password"
	MethodPasskey   = "passkey"
	MethodEmailCode = "email_code"
	MethodSMSCode   = "sms_code"
)

// MFAPolicies, Factors and LoginMethods are the accepted values, in the order pages list them.
var (
	MFAPolicies  = []string{MFAOff, MFAOptional, MFARequired, MFAAdaptive}
	Factors      = []string{FactorTOTP, FactorWebAuthn, FactorEmail, FactorSMS}
	LoginMethods = []string{MethodPassword, MethodPasskey, MethodEmailCode, MethodSMSCode}
)

// DefaultRememberDeviceDays is how long "Remember this device" skips the second factor when
// remember_device_days is 0.
const DefaultRememberDeviceDays = 30

// MaxRememberDeviceDays bounds remember_device_days (a year).
const MaxRememberDeviceDays = 365

// MFA is a tenant's multi-factor policy (tenants[].mfa). The zero value is policy off with every factor
// allowed, which keeps tenants created before MFA existed signing in as they did.
type MFA struct {
	// Policy is off (default), optional, required or adaptive.
	Policy string `yaml:"policy" json:"policy,omitempty"`
	// Factors are the second factors users may enrol and use; empty allows all four.
	Factors []string `yaml:"factors" json:"factors,omitempty"`
	// RememberDeviceDays is how long "Remember this device" skips the second factor on a browser (0: 30;
	// -1 hides the checkbox).
	RememberDeviceDays int `yaml:"remember_device_days" json:"remember_device_days,omitempty"`
}

// PolicyOr is the policy with its default applied.
func (m MFA) PolicyOr() string {
	if m.Policy == "" {
		return MFAOff
	}
	return m.Policy
}

// Allows reports whether factor f may be used.
func (m MFA) Allows(f string) bool {
	return len(m.Factors) == 0 || slices.Contains(m.Factors, f)
}

// RememberDays is RememberDeviceDays with its default applied (0 when the checkbox is off).
func (m MFA) RememberDays() int {
	switch {
	case m.RememberDeviceDays < 0:
		return 0
	case m.RememberDeviceDays == 0:
		return DefaultRememberDeviceDays
	}
	return m.RememberDeviceDays
}

// Login is a tenant's sign-in settings (tenants[].login).
type Login struct {
	// Methods are the first-step methods the sign-in page offers; empty: password and passkey.
	Methods []string `yaml:"methods" json:"methods,omitempty"`
	// NewDeviceEmail tells a user by email of a sign-in from a browser the account never used, with a
	// "This wasn't me" link (default true; a pointer so that leaving it out keeps it on).
	NewDeviceEmail *bool `yaml:"new_device_email" json:"new_device_email,omitempty"`
}

// NotifiesNewDevice reports whether a sign-in from a new browser is told by email.
func (l Login) NotifiesNewDevice() bool { return l.NewDeviceEmail == nil || *l.NewDeviceEmail }

// Allows reports whether method m may start a sign-in.
func (l Login) Allows(m string) bool {
	if len(l.Methods) == 0 {
		return m == MethodPassword || m == MethodPasskey
	}
	return slices.Contains(l.Methods, m)
}

// WebAuthn is a tenant's relying-party settings for passkeys (tenants[].webauthn).
type WebAuthn struct {
	// RPID is the relying party id: a registrable domain suffix of the host the pages are served on
	// (default: the host of public_url). Passkeys are bound to it; changing it orphans every passkey.
	RPID string `yaml:"rp_id" json:"rp_id,omitempty"`
	// RPName is shown by the browser when a passkey is created (default: the tenant's name).
	RPName string `yaml:"rp_name" json:"rp_name,omitempty"`
}

// CheckMFA returns the problems of an MFA block; prefix names it ("tenants[0].mfa.").
func CheckMFA(prefix string, m MFA) Problems {
	var p Problems
	if m.Policy != "" && !slices.Contains(MFAPolicies, m.Policy) {
		p = append(p, fmt.Sprintf("%spolicy: %q is not one of %s", prefix, m.Policy, strings.Join(MFAPolicies, ", ")))
	}
	p = append(p, checkList(prefix+"factors", m.Factors, Factors)...)
	if m.RememberDeviceDays < -1 || m.RememberDeviceDays > MaxRememberDeviceDays {
		p = append(p, fmt.Sprintf("%sremember_device_days: %d must lie between -1 (no checkbox) and %d",
			prefix, m.RememberDeviceDays, MaxRememberDeviceDays))
	}
	return p
}

// CheckMFAPolicy returns the problem of a client's mfa_policy ("" inherits the tenant's).
func CheckMFAPolicy(field, policy string) Problems {
	if policy == "" || slices.Contains(MFAPolicies, policy) {
		return nil
	}
	return Problems{fmt.Sprintf("%s: %q is not one of %s (or empty to follow the tenant)", field, policy, strings.Join(MFAPolicies, ", "))}
}

// CheckLogin returns the problems of a login block.
func CheckLogin(prefix string, l Login) Problems {
	p := checkList(prefix+"methods", l.Methods, LoginMethods)
	if len(l.Methods) > 0 && !slices.Contains(l.Methods, MethodPassword) && !slices.Contains(l.Methods, MethodPasskey) &&
		!slices.Contains(l.Methods, MethodEmailCode) && !slices.Contains(l.Methods, MethodSMSCode) {
		p = append(p, fmt.Sprintf("%smethods: name at least one method", prefix))
	}
	return p
}

// CheckWebAuthn returns the problems of a webauthn block: rp_id is a bare host name.
func CheckWebAuthn(prefix string, w WebAuthn) Problems {
	if w.RPID == "" {
		return nil
	}
	if strings.ContainsAny(w.RPID, ":/ ") || net.ParseIP(w.RPID) != nil || strings.HasPrefix(w.RPID, ".") || strings.HasSuffix(w.RPID, ".") {
		return Problems{fmt.Sprintf("%srp_id: %q must be a host name without scheme or port (e.g. login.example.com)", prefix, w.RPID)}
	}
	return nil
}

// checkList reports values of list that are not in allowed, and repeats.
func checkList(field string, list, allowed []string) Problems {
	var p Problems
	seen := map[string]bool{}
	for _, v := range list {
		switch {
		case !slices.Contains(allowed, v):
			p = append(p, fmt.Sprintf("%s: %q is not one of %s", field, v, strings.Join(allowed, ", ")))
		case seen[v]:
			p = append(p, fmt.Sprintf("%s: %q is listed twice", field, v))
		}
		seen[v] = true
	}
	return p
}
