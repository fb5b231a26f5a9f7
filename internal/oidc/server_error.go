package oidc

import (
	"net/http"

	"github.com/umm-project/umm/internal/web"
)

// writeJSONServerError answers a machine endpoint's internal failure: it logs err with what the endpoint
// was doing, and sends a JSON server_error whose text tells the caller nothing of it.
func (p *Provider) writeJSONServerError(w http.ResponseWriter, r *http.Request, what, tenantID string, err error) {
	p.log.ErrorContext(r.Context(), what, "tenant", tenantID, "err", err, "request_id", web.RequestIDFrom(r.Context()))
	web.NoStore(w)
	web.WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error", "error_description": "internal error"})
}
