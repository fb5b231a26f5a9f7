package oidc

import "net/http"

// Temporary stubs so the package compiles while the token endpoint, introspection, revocation and the
// device authorization endpoint are written (oidc-token owner deletes this file when implementing them).

func (p *Provider) handleToken(w http.ResponseWriter, r *http.Request) { notImplemented(w) }

func (p *Provider) handleIntrospect(w http.ResponseWriter, r *http.Request) { notImplemented(w) }

func (p *Provider) handleRevoke(w http.ResponseWriter, r *http.Request) { notImplemented(w) }

func (p *Provider) handleDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	notImplemented(w)
}

func notImplemented(w http.ResponseWriter) {
	http.Error(w, "not implemented", http.StatusNotImplemented)
}
