// Package admin is UMM's management surface: tenants, OAuth clients and users, and the application of the
// configuration's tenants: block (the seed). Service is the one code path behind the seed, the umm CLI and
// (later) the admin REST API, so every change is validated the same way and commits with its event.
//
// As a surface it may import web, the core (identity, session, events) and the base (keys, store, config),
// never another surface; server builds it and cmd/umm reaches it through server.Services.
package admin
