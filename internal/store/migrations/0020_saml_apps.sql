-- The SAML service providers a tenant signs users in to as a SAML 2.0 IdP. config is the app's settings
-- as JSON (package config's SAMLApp, with what its metadata supplied filled in); none of it is secret:
-- the SP's certificate is public.
CREATE TABLE saml_apps (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    entity_id  TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    config     TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, entity_id)
);
