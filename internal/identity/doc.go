// Package identity owns users and what proves who they are: accounts (email unique per tenant after
// Unicode normalisation), argon2id password hashes, the per-tenant password policy (length, the embedded
// breached-password list in breached.go, the password history), brute-force protection shared by
// every node (budgets per account and client IP, per IP, per known device, and an account-wide hard lock,
// stored in the throttles table; see authenticate.go), known devices, roles, consents, self-registration
// with address verification on a stored flow (registration.go), a user's own password change
// (password_change.go: the current password checked as a sign-in, the other sessions and every grant
// ended) and invitations (invitations.go: create, resend, revoke and accept, for the CLI, the API and the
// page alike). Every state change commits with its event (package events) in one transaction.
//
// The surfaces (login, oidc, admin) and server import identity; identity imports only events, keys, store
// and config.
package identity
