-- Signing keys: at most one current and one next key per tenant and algorithm, enforced by the database so
-- that two nodes creating or rotating keys at once cannot both succeed.
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (tenant_id, alg) WHERE status = 'current';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (tenant_id, alg) WHERE status = 'next';
