// Package federation signs people in at upstream identity providers: social presets (Google, Apple,
// Microsoft, GitHub, GitLab, Facebook, LinkedIn), any OpenID provider or OAuth 2.0 server, SAML 2.0 IdPs
// and LDAP / Active Directory, all behind one model. A tenant's connections are rows of the store
// (config.Connection as JSON, secrets sealed with the master key); Service turns a row into a Connector.
//
// A connector only speaks the upstream protocol and answers an Identity: who the person is upstream,
// with the profile fields, groups and authentication methods the connection maps. What UMM does with it
// (find the linked account, ask the person to prove an existing account before linking, create one just
// in time) is the business of package identity and the hosted pages (package login), which call both.
//
// Redirecting connectors (OIDC, OAuth 2.0, SAML) work in two calls around the browser's trip upstream:
// AuthURL with a Begin the caller keeps on its flow row (state, nonce, PKCE verifier, request id), then
// Exchange with the callback request and that Begin. The password connector (LDAP) answers Authenticate.
//
// Surfaces (login, admin) and server import federation; federation imports only events, keys, store and
// config.
package federation
