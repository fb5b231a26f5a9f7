// Package playground serves the pages a newcomer meets first: the root page (/), each tenant's index page
// (/t/{tenant}/) and the playground (/t/{tenant}/playground), which signs in with a real authorization
// code + PKCE flow as the built-in public client "playground" and shows what an application receives: the
// ID token's claims, the access token decoded and the UserInfo answer.
//
// The playground is a relying party of UMM's own OIDC provider. Like every other surface it does not import
// oidc or login: it speaks the protocol, over HTTP requests that server's handler answers in-process (the
// token and UserInfo requests never leave the process, so they work whatever the network sees of
// server.public_url). No JavaScript: the callback's handler does the exchange and renders the result, so
// the strict Content-Security-Policy holds. It is on for a tenant when its settings say playground: true,
// which the zero-config tenant "default" does; server gives such tenants the client at start
// (admin.EnsurePlaygroundClients).
package playground
