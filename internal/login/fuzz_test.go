package login_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/keys"
	"github.com/umm-project/umm/internal/server/servertest"
)

// FuzzDeviceUserCode: what a person types on the device page. The page accepts exactly the inputs that
// normalise to a pending code (in any case, with spaces or hyphens) and answers anything else with the
// form again; no input is a server error. It runs through the whole server on SQLite: the subject is
// the entry form's parsing, not the storage.
func FuzzDeviceUserCode(f *testing.F) {
	srv := servertest.New(f, servertest.WithConfig(func(c *config.Config) { c.Security.IPLimitPerMinute = 1 << 30 }))
	resp, err := http.PostForm(srv.TenantURL("/device_authorization"), url.Values{"client_id": {srv.Public.ID}, "scope": {"openid"}})
	if err != nil {
		f.Fatal(err)
	}
	var da struct {
		UserCode string `json:"user_code"`
	}
	err = json.NewDecoder(resp.Body).Decode(&da)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || da.UserCode == "" {
		f.Fatalf("device authorization: status %d, %v", resp.StatusCode, err)
	}
	pending := keys.NormalizeUserCode(da.UserCode)
	for _, s := range []string{da.UserCode, strings.ToLower(da.UserCode), " " + strings.ReplaceAll(da.UserCode, "-", " ") + "\t",
		pending[:4] + "\u00a0" + pending[4:], "BCDF-GHJK", "", "-", strings.Repeat("B", 40), "\x00", "\xff\xfe", "<script>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		b := srv.NewBrowser(t)
		form, _, _ := b.GetForm(srv.TenantURL("/device"), "/device")
		resp, body := b.Submit(form, url.Values{"user_code": {typed}})
		want := keys.NormalizeUserCode(typed) == pending
		switch {
		case resp.StatusCode >= 500:
			t.Fatalf("user code %q: status %d: %.300s", typed, resp.StatusCode, body)
		case resp.StatusCode == http.StatusSeeOther:
			if !want {
				t.Fatalf("user code %q was accepted for the pending code %s", typed, pending)
			}
		case want && len(strings.TrimSpace(typed)) <= 32:
			t.Fatalf("user code %q, the pending code %s as a person may type it, was refused: status %d", typed, pending, resp.StatusCode)
		case resp.StatusCode != http.StatusUnprocessableEntity:
			t.Fatalf("user code %q: status %d, want 422 with the form again", typed, resp.StatusCode)
		}
	})
}
