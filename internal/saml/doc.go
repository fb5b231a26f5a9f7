// Package saml is UMM's SAML 2.0 Identity Provider: per-tenant metadata, SP-initiated SSO over
// HTTP-Redirect and HTTP-POST, IdP-initiated SSO, and Single Logout, for the service providers a tenant
// registers (tenants[].saml_apps). A SAML sign-in is one more LoginRequest: the hosted pages (package
// login) authenticate it exactly like an OpenID Connect one, then this package answers the SP.
package saml
