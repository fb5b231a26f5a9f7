// Package server builds UMM from a config.Config: the store (opened and migrated under a lock), the
// master key and keyring, signing keys, identity, sessions, the protocol surface (oidc), the hosted pages
// (login) and the management service (admin), which applies the config's tenants: block at every start.
// It owns the one http.ServeMux with its middleware chain, /healthz, /readyz, /metrics and /static/, the
// http.Server with its timeouts and graceful shutdown, and the background workers (key rotation, garbage
// collection, the listener that hands cache invalidation messages to keys and oidc) that run on the root
// context. It is the only package that imports everything; cmd/umm calls it, and servertest runs it for
// tests.
package server
