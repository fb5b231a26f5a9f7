package config

import (
	"strings"
	"testing"
)

func TestValidatePresetEndpointOverrides(t *testing.T) {
	t.Parallel()
	base := Connection{ID: "gh", Type: ConnGitHub, ClientID: "id", ClientSecret: "secret"}
	ok := base
	ok.TokenURL, ok.UserinfoURL = "https://ghe.example/login/oauth/access_token", "http://127.0.0.1:8080/user"
	if p := ok.Validate("c"); len(p) != 0 {
		t.Errorf("https and loopback overrides refused: %v", p)
	}
	bad := base
	bad.Issuer, bad.TokenURL = "http://idp.example", "ftp://x"
	p := bad.Validate("c")
	if len(p) != 2 || !strings.Contains(p[0], "c.issuer:") || !strings.Contains(p[1], "c.token_url:") {
		t.Errorf("problems = %v, want issuer and token_url refused", p)
	}
}
