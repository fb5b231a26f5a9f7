package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// SetLoginRequestLang changes the language of a pending login request's pages (the person chose another
// one with the language switcher). The language lives in the stored params, so it is read and written
// back in one transaction.
func (db *DB) SetLoginRequestLang(ctx context.Context, tenantID, id, lang string) error {
	return db.updatePendingParams(ctx, tenantID, id, "set login request language", func(p *AuthorizeParams) { p.Lang = lang })
}

// SetLoginRequestOrganization records the organization the user chose for a pending login request (the
// organization picker): from then on the request is for it, as if it had named it with organization=ID.
// ErrNotFound when the request is not pending any more.
func (db *DB) SetLoginRequestOrganization(ctx context.Context, tenantID, id, orgID string) error {
	return db.updatePendingParams(ctx, tenantID, id, "set login request organization", func(p *AuthorizeParams) { p.Organization = orgID })
}

// updatePendingParams changes the stored params of a pending login request with change, read and written
// back in one transaction.
func (db *DB) updatePendingParams(ctx context.Context, tenantID, id, what string, change func(*AuthorizeParams)) error {
	return db.InTx(ctx, func(tx *Tx) error {
		var raw string
		err := tx.row(ctx, `SELECT params FROM login_requests WHERE tenant_id = ? AND id = ? AND status = ?`,
			tenantID, id, LoginPending).Scan(&raw)
		if err != nil {
			return fmt.Errorf("%s: %w", what, scanErr(err))
		}
		var params AuthorizeParams
		if err := json.Unmarshal([]byte(raw), &params); err != nil {
			return fmt.Errorf("%s: params: %w", what, err)
		}
		change(&params)
		out, err := json.Marshal(params)
		if err != nil {
			return err
		}
		return tx.execOne(ctx, `UPDATE login_requests SET params = ? WHERE tenant_id = ? AND id = ? AND status = ?`,
			string(out), tenantID, id, LoginPending)
	})
}
