package login

import "slices"

// scopeTexts say in plain words what each standard scope lets an application do (OIDC Core §5.4, §11).
var scopeTexts = map[string]string{
	"openid":         "Sign you in with your account",
	"profile":        "See your name and profile details",
	"email":          "See your email address and whether it is verified",
	"phone":          "See your phone number and whether it is verified",
	"address":        "See your postal address",
	"offline_access": "Stay connected when you are not using it, until you remove its access",
	"roles":          "See the roles you have",
}

// describeScopes lists what scopes allow, in plain words, in the order requested. A scope UMM does not
// know is shown by its name.
func describeScopes(scopes []string) []string {
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if txt, ok := scopeTexts[s]; ok {
			out = append(out, txt)
		} else {
			out = append(out, "Use the permission “"+s+"”")
		}
	}
	return out
}

// covers reports whether granted contains every requested scope.
func covers(granted, requested []string) bool {
	for _, s := range requested {
		if !slices.Contains(granted, s) {
			return false
		}
	}
	return true
}
