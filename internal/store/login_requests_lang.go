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
	return db.InTx(ctx, func(tx *Tx) error {
		var raw string
		err := tx.row(ctx, `SELECT params FROM login_requests WHERE tenant_id = ? AND id = ? AND status = ?`,
			tenantID, id, LoginPending).Scan(&raw)
		if err != nil {
			return fmt.Errorf("set login request language: %w", scanErr(err))
		}
		var params AuthorizeParams
		if err := json.Unmarshal([]byte(raw), &params); err != nil {
			return fmt.Errorf("set login request language: params: %w", err)
		}
		params.Lang = lang
		out, err := json.Marshal(params)
		if err != nil {
			return err
		}
		return tx.execOne(ctx, `UPDATE login_requests SET params = ? WHERE tenant_id = ? AND id = ? AND status = ?`,
			string(out), tenantID, id, LoginPending)
	})
}
