// Package identity owns users and what proves who they are: accounts (email unique per tenant after
// Unicode normalisation), argon2id password hashes, the password policy, brute-force protection shared by
// every node (per-account backoff and lockout, per-IP limits, stored in the throttles table), roles and
// consents. Every state change commits with its event (package events) in one transaction.
//
// The surfaces (login, oidc, admin) and server import identity; identity imports only events, keys, store
// and config.
package identity
