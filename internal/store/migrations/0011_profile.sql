-- Profiles: the standard OIDC claims of a user beyond the names (nickname, picture, phone_number, address,
-- ...) and the tenant's custom attributes, each a JSON object; and what a client needs of a profile.
-- A tenant's profile schema and registration settings live in tenants.settings (JSON), so need no column.

ALTER TABLE users ADD COLUMN claims TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';

-- required_profile_fields: a JSON list of field names the client needs before it gets tokens.
-- initiate_login_uri: where a third party starts the client's sign-in (OIDC Registration §2).
ALTER TABLE clients ADD COLUMN required_profile_fields TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN initiate_login_uri TEXT NOT NULL DEFAULT '';
