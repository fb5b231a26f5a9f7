package store

import (
	"context"
	"fmt"
	"time"
)

// DeleteExpiredClientAssertionJTIs forgets private_key_jwt assertion ids whose assertions expired before
// before: an expired assertion is refused on its exp, so its jti need not be remembered (garbage collection).
func (q *queries) DeleteExpiredClientAssertionJTIs(ctx context.Context, before time.Time) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM client_assertion_jtis WHERE expires_at < ?`, before.Unix())
	if err != nil {
		return 0, fmt.Errorf("delete expired client assertion ids: %w", err)
	}
	return res.RowsAffected()
}

// DeleteExpiredAssertions forgets SAML assertion ids whose assertions expired before before: an expired
// assertion is refused on its NotOnOrAfter, so its id need not be remembered.
func (q *queries) DeleteExpiredAssertions(ctx context.Context, before time.Time) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM used_assertions WHERE expires_at < ?`, before.Unix())
	if err != nil {
		return 0, fmt.Errorf("delete expired assertion ids: %w", err)
	}
	return res.RowsAffected()
}
