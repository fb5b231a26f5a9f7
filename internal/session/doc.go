// Package session owns browser SSO sessions: the umm_session cookie (a random token of which only the
// hash is stored), their idle and absolute lifetimes, rotation at every sign-in, ending them (logout, the
// account page, the admin; each end writes the back-channel logout messages of the session's clients in
// its transaction), the clients that received tokens within a session (for single logout), and the
// umm_browser cookie that binds a login request to the browser that started it. A session records the
// factors it proved and when (assurance.go derives amr and acr from them), and StepUp adds factors to a
// live session without a new sign-in.
//
// Surfaces (login, oidc) and server import session; session imports only events, keys, store and config.
package session
