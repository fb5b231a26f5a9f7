// Package oidc is UMM's OAuth 2.0 / OpenID Connect provider surface, one issuer per tenant
// ({public_url}/t/{tenant}). It owns discovery, JWKS, the authorization endpoint and its resume step,
// the token endpoint (one file per grant), UserInfo, introspection, revocation, the device authorization
// endpoint, RP-initiated logout and the delivery of back-channel logout tokens (the outbox calls
// Provider.DeliverBackchannelLogout; server wires it). It hands browsers to the hosted pages (package login) through a stored
// store.LoginRequest and a redirect, never through an import. Every OAuth error goes through one writer.
package oidc
