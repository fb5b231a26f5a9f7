package session

import (
	"slices"
	"time"

	"github.com/umm-project/umm/internal/store"
)

// Authentication methods a session records (RFC 8176 names, and "email" for a code sent by email, which
// RFC 8176 does not name).
const (
	MethodPassword    = "pwd"   // a password
	MethodOTP         = "otp"   // a TOTP code or a recovery code
	MethodHardwareKey = "hwk"   // a passkey on a roaming authenticator (security key)
	MethodSoftwareKey = "swk"   // a passkey on the device's platform authenticator or a synced one
	MethodUser        = "user"  // the authenticator verified the user (PIN or biometrics)
	MethodSMS         = "sms"   // a code sent by SMS
	MethodEmail       = "email" // a code or link sent by email
	MethodMFA         = "mfa"   // two or more factors
	MethodFederated   = "fed"   // a sign-in at an upstream identity provider
)

// UpstreamMethods are the methods an upstream's amr may add to a federated sign-in when the connection
// trusts what the upstream reports (trust_amr).
var UpstreamMethods = []string{MethodPassword, MethodOTP, MethodHardwareKey, MethodSoftwareKey, MethodUser, MethodSMS, MethodMFA}

// Authentication context classes UMM asserts (acr_values_supported), weakest first: "1" one factor, "2"
// two factors, "phr" a phishing-resistant sign-in (a passkey with user verification, per the OpenID EAP
// ACR values).
const (
	ACROneFactor         = "1"
	ACRTwoFactors        = "2"
	ACRPhishingResistant = "phr"
)

// ACRs are the supported classes, weakest first.
var ACRs = []string{ACROneFactor, ACRTwoFactors, ACRPhishingResistant}

// ACRRank orders classes: 0 for an unknown one, then 1, 2, 3 for "1", "2", "phr".
func ACRRank(acr string) int { return slices.Index(ACRs, acr) + 1 }

// Satisfies reports whether a session at class have meets a request for class want (an unknown want is
// met by nothing).
func Satisfies(have, want string) bool {
	w := ACRRank(want)
	return w > 0 && ACRRank(have) >= w
}

// isPasskey reports whether m is proof of a passkey.
func isPasskey(m string) bool { return m == MethodHardwareKey || m == MethodSoftwareKey }

// Assurance derives amr and acr from what a session proved. A password is something known; a TOTP code,
// a code sent by SMS or email and a passkey are something held; user verification on a passkey is the
// second factor of the passkey itself. Two different kinds make "mfa" and acr "2"; a passkey with user
// verification is phishing-resistant ("phr"), which also counts as two factors.
func Assurance(f store.SessionFactors) (amr []string, acr string) {
	amr = make([]string, 0, len(f)+1)
	for _, m := range []string{MethodFederated, MethodPassword, MethodOTP, MethodHardwareKey, MethodSoftwareKey, MethodUser, MethodSMS, MethodEmail} {
		if _, ok := f[m]; ok {
			amr = append(amr, m)
		}
	}
	// A sign-in at an upstream stands for the first factor; an upstream trusted to report its methods may
	// have asked for more (its "mfa" counts as two factors).
	_, knows := f[MethodPassword]
	_, fed := f[MethodFederated]
	_, upstreamMFA := f[MethodMFA]
	knows = knows || fed
	holds, passkey := false, false
	for m := range f {
		switch {
		case isPasskey(m):
			holds, passkey = true, true
		case m == MethodOTP || m == MethodSMS || m == MethodEmail:
			holds = true
		}
	}
	_, verified := f[MethodUser]
	switch {
	case passkey && verified:
		amr = append(amr, MethodMFA)
		return amr, ACRPhishingResistant
	case holds && knows, fed && upstreamMFA:
		amr = append(amr, MethodMFA)
		return amr, ACRTwoFactors
	}
	return amr, ACROneFactor
}

// Factors returns the methods as SessionFactors used at at.
func Factors(at time.Time, methods ...string) store.SessionFactors {
	f := make(store.SessionFactors, len(methods))
	for _, m := range methods {
		f[m] = at.Unix()
	}
	return f
}

// Merge returns the factors of a session after a step-up: the old ones with the new ones added (or their
// time moved on).
func Merge(old, add store.SessionFactors) store.SessionFactors {
	out := make(store.SessionFactors, len(old)+len(add))
	for m, at := range old {
		out[m] = at
	}
	for m, at := range add {
		if at > out[m] {
			out[m] = at
		}
	}
	return out
}

// SessionFactorsOf returns what s proved: its recorded factors, or for a session started before factors
// were recorded, its amr at its auth_time.
func SessionFactorsOf(s store.Session) store.SessionFactors {
	if len(s.Factors) > 0 {
		return s.Factors
	}
	return Factors(s.AuthTime, s.AMR...)
}
