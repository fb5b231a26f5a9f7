package keys

import (
	"bytes"
	"encoding/json"
)

// Audience is the aud claim of every JWT UMM reads (client assertions, ID token hints, the playground's ID
// tokens): one string or an array of strings (RFC 7519 §4.1.3). It is the one parser of that claim.
type Audience []string

// UnmarshalJSON accepts one string or an array of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = Audience{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*a = l
	return nil
}
