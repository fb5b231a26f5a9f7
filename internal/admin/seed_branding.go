package admin

import (
	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/i18n"
)

// checkLook reports every problem of a tenant's look: what config checks (language, URLs, colour
// contrast, support email), and, since config cannot read the catalogue, that each overridden message
// key exists, so a typo is refused instead of silently changing nothing.
func checkLook(p *problems, l config.TenantLook) {
	for _, prob := range l.Validate("look") {
		*p = append(*p, prob)
	}
	for _, prob := range i18n.Builtin.CheckOverrides(l.MessageTable()) {
		p.add("look.messages", prob)
	}
}
