package keys

import (
	"context"
	"errors"
	"fmt"

	"github.com/umm-project/umm/internal/config"
	"github.com/umm-project/umm/internal/store"
)

// A master key rotation, without downtime:
//  1. Every node gets the new key as a previous key (secrets.previous_master_key_files): it opens what the
//     new key will seal, while the old key still seals.
//  2. Every node gets the new key as its master key and the old one as a previous key: new values are
//     sealed under the new key; both open.
//  3. umm keys rotate-master re-seals every value at rest under the new key (Reseal).
//  4. The old key is removed from the configuration.
// Hashes of client secrets and MACs stay valid throughout: their keys derive from the hash root, the first
// master key of the database, which is itself a value sealed at rest.

// hashRootName names the hash root in the keyring_values table.
const hashRootName = "hash_root"

var hashRootAAD = []byte("keyring|" + hashRootName)

// LoadPreviousMasterKeys returns secrets.previous_master_keys and the contents of
// secrets.previous_master_key_files, which must exist with mode 0600 like the master key file.
func LoadPreviousMasterKeys(cfg config.Secrets) ([][]byte, error) {
	var out [][]byte
	for i, s := range cfg.PreviousMasterKeys {
		k, err := config.DecodeMasterKey(s)
		if err != nil {
			return nil, fmt.Errorf("secrets.previous_master_keys[%d]: %w", i, err)
		}
		out = append(out, k)
	}
	for _, path := range cfg.PreviousMasterKeyFiles {
		k, err := readMasterKeyFile(path)
		if err != nil {
			return nil, fmt.Errorf("secrets.previous_master_key_files: %w", err)
		}
		out = append(out, k)
	}
	return out, nil
}

// OpenKeyring builds the keyring of master and the previous keys with the database's hash root. A database
// without one gets it now: the oldest key given (the last previous key, else master), sealed under master.
func OpenKeyring(ctx context.Context, db *store.DB, master []byte, previous [][]byte) (*Keyring, error) {
	kr := NewKeyring(master, previous...)
	sealed, err := db.GetKeyringValue(ctx, hashRootName)
	if errors.Is(err, store.ErrNotFound) {
		root := master
		if len(previous) > 0 {
			root = previous[len(previous)-1]
		}
		s, serr := kr.Seal(root, hashRootAAD)
		if serr != nil {
			return nil, serr
		}
		if err := db.AddKeyringValue(ctx, hashRootName, s); err != nil {
			return nil, err
		}
		sealed, err = db.GetKeyringValue(ctx, hashRootName) // another process may have stored it first
	}
	if err != nil {
		return nil, fmt.Errorf("open keyring: %w", err)
	}
	root, err := kr.Open(sealed, hashRootAAD)
	if err != nil {
		return nil, errors.New("the database's secrets are sealed under a master key that is not configured: " +
			"set the master key this database was used with (secrets.master_key_file), or list it in " +
			"secrets.previous_master_key_files while a master key rotation is under way")
	}
	kr.setRoot(root)
	return kr, nil
}

// ResealReport says what Reseal did.
type ResealReport struct {
	Resealed int // values moved from a previous key to the master key
	Current  int // values already sealed under the master key
}

// Reseal seals every value at rest that a previous key sealed under the master key instead: the hash
// root, and per tenant the signing keys, the user codes of pending device sign-ins, the TOTP seeds, the
// upstream tokens of linked identities, the secrets of every connection and the signing secrets of every
// webhook subscription. Each value is replaced only if it did not change meanwhile
// (a rotation on a running node), so it may run while nodes serve. Once it returns without error, the
// previous keys can be removed from the configuration.
func Reseal(ctx context.Context, db *store.DB, kr *Keyring) (ResealReport, error) {
	var rep ResealReport
	sealed, err := db.GetKeyringValue(ctx, hashRootName)
	if err != nil {
		return rep, fmt.Errorf("reseal: %w", err)
	}
	if err := reseal(kr, &rep, sealed, hashRootAAD, func(s []byte) (bool, error) {
		return db.ReplaceKeyringValue(ctx, hashRootName, sealed, s)
	}); err != nil {
		return rep, fmt.Errorf("reseal the hash root: %w", err)
	}
	tenants, err := db.ListTenants(ctx)
	if err != nil {
		return rep, fmt.Errorf("reseal: %w", err)
	}
	for _, t := range tenants {
		rows, err := db.ListSigningKeys(ctx, t.ID)
		if err != nil {
			return rep, fmt.Errorf("reseal: %w", err)
		}
		for _, r := range rows {
			err := reseal(kr, &rep, r.PrivateEnc, sealAAD(t.ID, r.KeyID), func(s []byte) (bool, error) {
				return db.SetSigningKeyPrivate(ctx, t.ID, r.KeyID, r.PrivateEnc, s)
			})
			if err != nil {
				return rep, fmt.Errorf("reseal signing key %s of tenant %s: %w", r.KeyID, t.ID, err)
			}
		}
		codes, err := db.ListSealedUserCodes(ctx, t.ID)
		if err != nil {
			return rep, fmt.Errorf("reseal: %w", err)
		}
		for _, c := range codes {
			err := reseal(kr, &rep, c.Sealed, DeviceUserCodeAAD(t.ID, c.ID), func(s []byte) (bool, error) {
				return db.SetSealedUserCode(ctx, t.ID, c.ID, c.Sealed, s)
			})
			if err != nil {
				return rep, fmt.Errorf("reseal the user code of device request %s of tenant %s: %w", c.ID, t.ID, err)
			}
		}
		toks, err := db.ListSealedIdentityTokens(ctx, t.ID)
		if err != nil {
			return rep, fmt.Errorf("reseal: %w", err)
		}
		for _, tk := range toks {
			err := reseal(kr, &rep, tk.Sealed, UpstreamTokensAAD(t.ID, tk.ConnectionID, tk.Subject), func(s []byte) (bool, error) {
				return db.SetIdentityTokens(ctx, t.ID, tk.ConnectionID, tk.Subject, tk.Sealed, s)
			})
			if err != nil {
				return rep, fmt.Errorf("reseal the upstream tokens of an identity at %s of tenant %s: %w", tk.ConnectionID, t.ID, err)
			}
		}
		seeds, err := db.ListSealedFactorSecrets(ctx, t.ID)
		if err != nil {
			return rep, fmt.Errorf("reseal: %w", err)
		}
		for _, f := range seeds {
			err := reseal(kr, &rep, f.Sealed, TOTPSeedAAD(t.ID, f.UserID, f.ID), func(s []byte) (bool, error) {
				return db.SetFactorSecret(ctx, t.ID, f.ID, f.Sealed, s)
			})
			if err != nil {
				return rep, fmt.Errorf("reseal the TOTP seed of factor %s of tenant %s: %w", f.ID, t.ID, err)
			}
		}
	}
	conns, err := db.ListSealedConnectionSecrets(ctx)
	if err != nil {
		return rep, fmt.Errorf("reseal: %w", err)
	}
	for _, c := range conns {
		err := reseal(kr, &rep, c.Secrets, ConnectionSecretsAAD(c.TenantID, c.ID), func(s []byte) (bool, error) {
			return db.SetConnectionSecrets(ctx, c.TenantID, c.ID, c.Secrets, s)
		})
		if err != nil {
			return rep, fmt.Errorf("reseal the secrets of connection %s of tenant %s: %w", c.ID, c.TenantID, err)
		}
	}
	hooks, err := db.ListSealedWebhookSecrets(ctx)
	if err != nil {
		return rep, fmt.Errorf("reseal: %w", err)
	}
	for _, h := range hooks {
		err := reseal(kr, &rep, h.Sealed, WebhookSecretAAD(h.TenantID, h.WebhookID), func(s []byte) (bool, error) {
			return db.ReplaceWebhookSecret(ctx, h, s)
		})
		if err != nil {
			return rep, fmt.Errorf("reseal the secret of webhook %s of tenant %s: %w", h.WebhookID, h.TenantID, err)
		}
	}
	return rep, nil
}

// WebhookSecretAAD binds the sealed signing secrets (current and previous) of a tenant's webhook
// subscription to it.
func WebhookSecretAAD(tenantID, webhookID string) []byte {
	return []byte("webhook|" + tenantID + "|" + webhookID)
}

// ConnectionSecretsAAD binds the sealed secrets of a tenant's connection (client secret, private key,
// bind password) to it.
func ConnectionSecretsAAD(tenantID, connectionID string) []byte {
	return []byte("connection|" + tenantID + "|" + connectionID)
}

// UpstreamTokensAAD binds the sealed upstream tokens of a linked identity to it.
func UpstreamTokensAAD(tenantID, connectionID, subject string) []byte {
	return []byte("upstream-tokens|" + tenantID + "|" + connectionID + "|" + subject)
}

// DeviceUserCodeAAD binds the sealed user code of a device login request to its tenant and request.
func DeviceUserCodeAAD(tenantID, loginRequestID string) []byte {
	return []byte("device user code|" + tenantID + "|" + loginRequestID)
}

// reseal opens one value and, when a previous key sealed it, replaces it sealed under the master key. A
// value that changed meanwhile was written by a node, hence under the master key or deleted: it counts as
// current.
func reseal(kr *Keyring, rep *ResealReport, sealed, aad []byte, replace func([]byte) (bool, error)) error {
	plain, current, err := kr.open(sealed, aad)
	if err != nil {
		return err
	}
	if current {
		rep.Current++
		return nil
	}
	s, err := kr.Seal(plain, aad)
	if err != nil {
		return err
	}
	replaced, err := replace(s)
	if err != nil {
		return err
	}
	if replaced {
		rep.Resealed++
	} else {
		rep.Current++
	}
	return nil
}

// TOTPSeedAAD binds the sealed seed of a TOTP factor to its tenant, user and factor: a seed copied into
// another user's row does not open.
func TOTPSeedAAD(tenantID, userID, factorID string) []byte {
	return []byte("totp seed|" + tenantID + "|" + userID + "|" + factorID)
}
