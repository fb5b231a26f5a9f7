package login

import "slices"

// scopeKeys are the messages saying in plain words what each standard scope lets an application do (OIDC
// Core §5.4, §11).
var scopeKeys = map[string]string{
	"openid":         "scope.openid",
	"profile":        "scope.profile",
	"email":          "scope.email",
	"phone":          "scope.phone",
	"address":        "scope.address",
	"offline_access": "scope.offline_access",
	"roles":          "scope.roles",
}

// scopeText is one line of what an application may do: a message key, and the scope's name for the
// message of a scope UMM does not know ({{$.T .Key .Name}}).
type scopeText struct {
	Key, Name string
}

// describeScopes lists what scopes allow, in plain words, in the order requested. A scope UMM does not
// know is shown by its name.
func describeScopes(scopes []string) []scopeText {
	out := make([]scopeText, 0, len(scopes))
	for _, s := range scopes {
		if key, ok := scopeKeys[s]; ok {
			out = append(out, scopeText{Key: key})
		} else {
			out = append(out, scopeText{Key: "scope.other", Name: s})
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
