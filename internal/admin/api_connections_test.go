package admin

import (
	"reflect"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/config"
)

// TestAPIConnectionHasEverySetting: the API's connection travels to and from config.Connection through
// JSON, so a setting the API lacks would be lost from answers and erased by every write.
func TestAPIConnectionHasEverySetting(t *testing.T) {
	t.Parallel()
	api := map[string]bool{}
	at := reflect.TypeOf(apiConnection{})
	for i := range at.NumField() {
		name, _, _ := strings.Cut(at.Field(i).Tag.Get("json"), ",")
		api[name] = true
	}
	ct := reflect.TypeOf(config.Connection{})
	for i := range ct.NumField() {
		f := ct.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			name, _, _ = strings.Cut(f.Tag.Get("yaml"), ",") // a secret: write-only in the API
		}
		if !api[name] {
			t.Errorf("config.Connection.%s (%s) is not a field of the API's connection", f.Name, name)
		}
	}
}

func TestConnectionRoundTrip(t *testing.T) {
	t.Parallel()
	in := apiConnection{ID: "dir", Type: config.ConnLDAP, URL: "ldaps://dir.example.com", Timeout: "2s", SyncInterval: "1h0m0s",
		BindPassword: "pw", RoleMapping: map[string][]string{"cn=admins": {"admin"}}, Position: 3}
	c, err := connectionConfig(in)
	if err != nil {
		t.Fatal(err)
	}
	if c.Timeout.D().Seconds() != 2 || c.BindPassword != "pw" || c.URL != in.URL || len(c.RoleMapping["cn=admins"]) != 1 {
		t.Errorf("settings %+v", c)
	}
	out, err := connectionJSON(ConnectionRecord{Connection: c, Position: 3})
	if err != nil {
		t.Fatal(err)
	}
	if out.BindPassword != "" || !out.BindPasswordSet || out.Timeout != "2s" || out.SyncInterval != "1h0m0s" || out.Position != 3 {
		t.Errorf("shown %+v", out)
	}
	if _, err := connectionConfig(apiConnection{ID: "x", Type: config.ConnLDAP, SyncInterval: "daily"}); err == nil {
		t.Error("a malformed sync_interval was accepted")
	}
}
