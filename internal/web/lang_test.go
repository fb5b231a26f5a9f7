package web

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/i18n"
)

func TestConfigAndCatalogueShipTheSameLanguages(t *testing.T) {
	t.Parallel()
	if !slices.Equal(config.Locales, i18n.Languages) {
		t.Errorf("config.Locales = %v, i18n.Languages = %v", config.Locales, i18n.Languages)
	}
}

func TestLang(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, uiLocales, cookie, accept, tenant, want string
	}{
		{"ui_locales wins over everything", "fr", "de", "es", "de", "fr"},
		{"the umm_lang cookie comes next", "", "de", "es", "fr", "de"},
		{"then Accept-Language", "", "", "es;q=0.8, de;q=0.9", "fr", "de"},
		{"then the tenant's default", "", "", "", "fr", "fr"},
		{"else English", "", "", "", "", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/t/a/login", nil)
			if tt.cookie != "" {
				r.AddCookie(&http.Cookie{Name: LangCookie, Value: tt.cookie})
			}
			if tt.accept != "" {
				r.Header.Set("Accept-Language", tt.accept)
			}
			if got := Lang(r, tt.uiLocales, tt.tenant); got != tt.want {
				t.Errorf("Lang = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSetLangCookie(t *testing.T) {
	t.Parallel()
	for _, secure := range []bool{false, true} {
		w := httptest.NewRecorder()
		SetLangCookie(w, "de", secure)
		c := w.Result().Cookies()
		if len(c) != 1 || c[0].Name != "umm_lang" || c[0].Value != "de" || c[0].Secure != secure ||
			c[0].SameSite != http.SameSiteLaxMode || c[0].MaxAge < 300*24*3600 || c[0].Path != "/" {
			t.Errorf("secure=%v: cookie %+v", secure, c)
		}
	}
}

func TestSwitchNext(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, next, want string }{
		{"a page of the tenant is kept with its query", "/t/acme/login?lr=abc", "/t/acme/login?lr=abc"},
		{"an absolute URL is refused", "https://evil.example/t/acme/login", "/t/acme/login"},
		{"a scheme-relative URL is refused", "//evil.example/t/acme/", "/t/acme/login"},
		{"a backslash is refused", "/t/acme/\\evil", "/t/acme/login"},
		{"another tenant is refused", "/t/other/login", "/t/acme/login"},
		{"a tenant whose id starts the same is refused", "/t/acme-evil/login", "/t/acme/login"},
		{"a climb out of the tenant is refused", "/t/acme/../other/login", "/t/acme/login"},
		{"nothing is the sign-in page", "", "/t/acme/login"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := SwitchNext("acme", tt.next); got != tt.want {
				t.Errorf("SwitchNext(%q) = %q, want %q", tt.next, got, tt.want)
			}
		})
	}
}

func TestTenantPage(t *testing.T) {
	t.Parallel()
	look := config.TenantLook{DefaultLocale: "fr", Branding: config.Branding{DisplayName: "ACME"},
		Messages: map[string]config.Messages{"fr": {"login.title": "Bienvenue"}}}
	r := httptest.NewRequest("GET", `/t/acme/login?lr=abc&x="><script>`, nil)
	pd := TenantPage(r, "acme", "Acme Inc", look, "")
	if pd.Lang != "fr" || pd.T("login.title") != "Bienvenue" || pd.TenantName != "ACME" {
		t.Errorf("page = lang %q, title %q, name %q", pd.Lang, pd.T("login.title"), pd.TenantName)
	}
	if pd.Here != "/t/acme/login?lr=abc" {
		t.Errorf("Here = %q: only the path and the login request come back", pd.Here)
	}
	links := pd.Switcher()
	if len(links) != len(i18n.Languages) || !links[2].Current || links[2].Lang != "fr" ||
		!strings.HasPrefix(links[1].Href, "/t/acme/language?") || !strings.Contains(links[1].Href, "lang=de") {
		t.Errorf("switcher = %+v", links)
	}
	if pd := TenantPage(r, "acme", "Acme Inc", look, "es"); pd.Lang != "es" || pd.T("login.title") != i18n.Builtin.Text("es", "login.title") {
		t.Errorf("a flow's language is not kept: %q %q", pd.Lang, pd.T("login.title"))
	}
}
