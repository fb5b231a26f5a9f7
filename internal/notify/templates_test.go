package notify

import (
	"errors"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/i18n"
)

func TestRenderAccountAttack(t *testing.T) {
	t.Parallel()
	for _, lang := range append(i18n.Languages, "xx") {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			e, err := Render(lang, TemplateAccountAttack, "ada@example.com", "Acme", "ada@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if e.To != "ada@example.com" || !strings.Contains(e.Subject, "Acme") || !strings.Contains(e.Text, "Acme") ||
				!strings.Contains(e.Text, "ada@example.com") {
				t.Errorf("Render = %+v, want the tenant in subject and text and the account in the text", e)
			}
			if strings.Contains(e.Subject+e.Text, "%") {
				t.Errorf("a verb is left: %+v", e)
			}
		})
	}
	en, _ := Render("en", TemplateAccountAttack, "a@example.com", "Acme", "a@example.com")
	de, _ := Render("de", TemplateAccountAttack, "a@example.com", "Acme", "a@example.com")
	xx, _ := Render("xx", TemplateAccountAttack, "a@example.com", "Acme", "a@example.com")
	if en.Subject == de.Subject || xx.Subject != en.Subject {
		t.Errorf("German %q, English %q, unknown %q: want German apart and English for an unknown language", de.Subject, en.Subject, xx.Subject)
	}
}

func TestRenderRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, template string
		args           []string
	}{
		{"an unknown template", "no_such_template", nil},
		{"too few arguments", TemplateAccountAttack, []string{"Acme"}},
		{"no arguments", TemplateAccountAttack, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := Render("en", tt.template, "a@example.com", tt.args...); !errors.Is(err, ErrPermanent) {
				t.Errorf("Render: %v, want ErrPermanent", err)
			}
		})
	}
}
