package server

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/umm-project/umm/internal/web"
)

// handleHealthz answers 200 while the process is up (liveness).
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	web.NoStore(w)
	web.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz answers 200 when the database answers and every migration of this binary is applied,
// 503 otherwise (readiness: a load balancer sends no traffic to a node that cannot serve it). The reason
// is logged, not shown.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	web.NoStore(w)
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.DB.Ready(ctx); err != nil {
		s.log.WarnContext(r.Context(), "not ready", "err", err)
		web.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// metricsHandler serves the server's own registry (Go and process collectors plus UMM's metrics).
func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}
