package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/umm-project/umm/internal/config"
)

// BrandingCSS is a tenant's stylesheet, served at /t/{tenant}/branding.css: the primary colour as CSS
// custom properties that UMM's own stylesheet reads. A stylesheet instead of a style attribute keeps the
// pages' Content-Security-Policy free of 'unsafe-inline'. The colour was checked at configuration time
// (#rrggbb, at least 4.5:1 against white); anything else yields an empty sheet.
func BrandingCSS(b config.Branding) []byte {
	var sb strings.Builder
	sb.WriteString("/* Branding of this tenant, served by UMM. --brand-primary is for a tenant's own stylesheet. */\n")
	c := b.PrimaryColor
	if ratio, err := config.ContrastAgainstWhite(c); err == nil && ratio >= config.MinContrast {
		fmt.Fprintf(&sb, ":root {\n  --brand-primary: %s;\n}\n", c)
		// UMM's dark scheme keeps its own light accent: a colour that is dark enough on white is often too
		// dark on the dark background.
		fmt.Fprintf(&sb, "@media not all and (prefers-color-scheme: dark) {\n  :root {\n    --accent: %s;\n    --accent-hover: %s;\n    --accent-text: #ffffff;\n  }\n}\n",
			c, darker(c))
	}
	return []byte(sb.String())
}

// darker is c with each channel at 80%, for hover states (darker keeps the contrast against white).
func darker(c string) string {
	out := "#"
	for i := 1; i < 7; i += 2 {
		v, _ := strconv.ParseUint(c[i:i+2], 16, 8)
		out += fmt.Sprintf("%02x", v*8/10)
	}
	return out
}

// brandingVersion is a short hash of the stylesheet, which the layout puts into the stylesheet's URL so a
// changed colour is fetched at once.
func brandingVersion(b config.Branding) string {
	sum := sha256.Sum256(BrandingCSS(b))
	return hex.EncodeToString(sum[:8])
}

// BrandingPath is the URL of tenant's stylesheet for b, versioned by its content.
func BrandingPath(tenantID string, b config.Branding) string {
	return "/t/" + tenantID + "/branding.css?v=" + brandingVersion(b)
}

// ServeBrandingCSS answers a tenant's stylesheet, cacheable for a day and revalidated with its ETag.
func ServeBrandingCSS(w http.ResponseWriter, r *http.Request, b config.Branding) {
	etag := `"` + brandingVersion(b) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("Content-Type", "text/css; charset=utf-8")
	if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == etag || inm == "*" || strings.Contains(inm, etag)) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(BrandingCSS(b))
}

// allowBranding widens this response's Content-Security-Policy for b: the origin of the tenant's extra
// stylesheet in style-src and the origin of its logo in img-src, nothing else.
func allowBranding(w http.ResponseWriter, b config.Branding) {
	widenDirective(w, "style-src", b.StylesheetURL)
	widenDirective(w, "img-src", b.LogoURL)
}

// widenDirective adds the origin of an https URL to one directive of this response's policy.
func widenDirective(w http.ResponseWriter, directive, raw string) {
	h := w.Header()
	csp := h.Get("Content-Security-Policy")
	if csp == "" || !strings.HasPrefix(raw, "https://") {
		return
	}
	src := cspSource(raw)
	if src == "" {
		return
	}
	parts := strings.Split(csp, ";")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if name, _, _ := strings.Cut(p, " "); name == directive {
			have := strings.Fields(p)
			if !containsString(have, src) {
				have = append(have, src)
			}
			p = strings.Join(have, " ")
		}
		parts[i] = p
	}
	h.Set("Content-Security-Policy", strings.Join(parts, "; "))
}
