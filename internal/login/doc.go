// Package login is UMM's hosted, server-rendered pages: sign-in, registration with address verification
// (page_register.go, docs/DESIGN.md "Self-service flows and registration"), consent, device-code entry and
// approval, the account console (/t/{tenant}/account/{profile,security,sessions,apps}: my profile, my
// password, my sessions, my connected apps, sign out) and accepting an invitation (page_invitation.go: a
// registration form on the emailed link, docs/DESIGN.md, "Invitations"). Every page works without
// JavaScript, uses web's accessible layout and CSS, and every form carries a CSRF token (web.CSRF); a POST
// without a valid one is answered 403 before anything changes. Successful POSTs answer 303.
//
// The pages run on a store.LoginRequest that a protocol surface (oidc) stored and handed over with a
// redirect to /t/{tenant}/login?lr={id} (docs/DESIGN.md, "The LoginRequest handoff"). A request is only
// usable from the browser that started it (its BrowserHash, compared in constant time), before it expires,
// and in the status the step expects. When the user has signed in (and consented), one transaction marks
// the request authenticated and appends its event; the browser then goes to /t/{tenant}/authorize/resume
// (Kind authorize) or back to /t/{tenant}/device (Kind device).
//
// # Who consents
//
// The consent page acts for the user of the browser's current session, and for nobody else: the pending
// user is never stored in the request or passed in a URL. This is safe because the request is bound to
// the browser (BrowserHash) and so is the session cookie, so the person consenting is the one who just
// signed in here. When the request demands a fresh sign-in (RequireLogin: prompt=login or max_age), the
// session must have been started after the request was created; otherwise the browser is sent back to
// the sign-in form. Without a session the consent page redirects to the sign-in form too.
//
// # Device flow
//
// /t/{tenant}/device takes the user code (prefilled from ?user_code=, RFC 8628 §3.3.1), looks it up by
// keys.HashToken(keys.NormalizeUserCode(code)), and counts wrong codes against the client IP
// (identity.Service.FailIP, scope "device"). A good code creates a device-kind LoginRequest: pending (and
// the browser goes to sign in) or, when a session exists, already authenticated with that session. The
// approve page (/t/{tenant}/device?lr={id}) shows the client, the scopes and the code; allow or deny
// changes the device code and consumes the request in one transaction.
//
// # Account console
//
// Each section is a GET of its own route rendered by account.html, with a navigation whose current link
// carries aria-current="page". The profile form is identity.FormFields(schema, "editable"), saved by
// identity.Service.UpdateProfile; the password form calls identity.Service.ChangePassword, which checks
// the current password as a sign-in (the same throttling budgets) and keeps only this browser's session.
//
// # Strong authentication
//
// Every first factor (password, passkey, an emailed or texted sign-in code) ends in firstFactorDone and
// every second factor in secondFactorDone (signin.go), which apply the risk engine, the requested acr
// and the MFA policy in one place, then start or step up the session with what was proven. The
// second-factor page (page_mfa.go), the setup of a first second factor at sign-in (page_mfa_setup.go),
// passwordless codes (page_login_code.go), the re-authentication page behind requireRecent
// (page_reauth.go) and "This wasn't me" (page_not_me.go) are described in docs/DESIGN.md, "Strong
// authentication".
//
// Only package server imports login; login imports web, i18n, identity, session, risk, events, keys,
// store and config.
package login
