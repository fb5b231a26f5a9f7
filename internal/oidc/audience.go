package oidc

import (
	"bytes"
	"encoding/json"
)

// audience is the aud claim of every JWT UMM reads (client assertions, ID token hints): one string or an
// array of strings (RFC 7519 §4.1.3). It is the one parser of that claim.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = audience{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*a = l
	return nil
}
