// Package authz owns UMM's authorization model: the APIs (resource servers) a tenant protects and their
// permissions, the roles that grant them, groups whose members share roles, and organizations whose
// members hold roles per membership. Every write validates its input, and commits with its event in one
// transaction. Check answers whether a user holds a permission, and why. The management API, the seed
// (admin) and the token endpoint (oidc) use it; it imports events, keys, store and config only.
package authz
