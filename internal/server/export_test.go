package server

import "net/http"

// HTTPServer exposes the http.Server that Serve runs, for tests of its limits.
func HTTPServer(s *Server) *http.Server { return s.httpServer() }
