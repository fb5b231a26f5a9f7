// Package umm is the Go SDK of UMM. It holds nothing itself; its packages are:
//
//   - resource: net/http middleware for resource servers, validating UMM's JWT access tokens (RFC 9068)
//     against the tenant's published keys and checking the permissions each route needs;
//   - management: a client of the management API (users, clients, roles, groups, organizations, APIs,
//     webhooks, events, keys) and of the authorization check, with a client-credentials token source;
//   - webhook: verification of the Standard Webhooks signatures UMM puts on its webhook deliveries.
//
// The module depends on nothing of the server and on one library, go-jose, for JWS and JWK.
package umm
