package keys

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrintsItsValue(t *testing.T) {
	const value = "s3cr3t-refresh-token-value"
	s := Secret(value)
	var logged bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logged, nil))
	log.Info("token issued", "token", s, "holder", struct {
		Token Secret `json:"token"`
	}{s})
	jsonOut, err := json.Marshal(map[string]any{"token": s})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, out string }{
		{"slog JSON output redacts it", logged.String()},
		{"json.Marshal redacts it", string(jsonOut)},
		{"%v redacts it", fmt.Sprintf("%v", s)},
		{"%s redacts it", fmt.Sprintf("%s", s)},
		{"%q redacts it", fmt.Sprintf("%q", s)},
		{"%#v redacts it", fmt.Sprintf("%#v", s)},
		{"%x redacts it", fmt.Sprintf("%x", s)},
		{"an error message redacts it", fmt.Errorf("bad token %v", s).Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(tt.out, value) || strings.Contains(tt.out, fmt.Sprintf("%x", value)) {
				t.Fatalf("output contains the secret: %s", tt.out)
			}
			if !strings.Contains(tt.out, "REDACTED") && !strings.Contains(tt.out, fmt.Sprintf("%x", "REDACTED")) {
				t.Fatalf("output does not say REDACTED: %s", tt.out)
			}
		})
	}
	if string(s) != value {
		t.Fatalf("string(s) = %q, want the value", string(s))
	}
}
