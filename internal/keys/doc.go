// Package keys owns UMM's cryptographic material: the master key (LoadMasterKey) and the Keyring derived
// from it (AEAD sealing of secrets at rest, HMAC hashes of client secrets, keyed MACs), each tenant's JWS
// signing keys (Manager: generation on first use, signing, verification, JWKS, scheduled rotation with a
// published next key and retained retired keys), random tokens, ids and device user codes, their hashes,
// and the Secret type that keeps tokens and passwords out of logs.
//
// It imports only store and config. The core packages (identity, session, events) and the surfaces (oidc,
// login, admin) import it; server builds the Keyring and the Manager and runs Manager.Run.
package keys
