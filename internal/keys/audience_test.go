package keys

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestAudienceClaim(t *testing.T) {
	tests := []struct {
		name, json string
		want       []string
		ok         bool
	}{
		{"one string is a one-element audience", `"web"`, []string{"web"}, true},
		{"an array is the list", `["web","api"]`, []string{"web", "api"}, true},
		{"space around a string is ignored", ` "web" `, []string{"web"}, true},
		{"a number is refused", `42`, nil, false},
		{"an array of numbers is refused", `[1]`, nil, false},
		{"an object is refused", `{"aud":"web"}`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Audience
			err := json.Unmarshal([]byte(tt.json), &a)
			if (err == nil) != tt.ok || tt.ok && !slices.Equal(a, tt.want) {
				t.Errorf("unmarshal %s = %q, %v; want %q (ok=%v)", tt.json, a, err, tt.want, tt.ok)
			}
		})
	}
}
