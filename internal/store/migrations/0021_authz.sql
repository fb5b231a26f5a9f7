-- Authorization: the APIs (resource servers) a tenant protects and their permissions, what roles grant,
-- groups of users that share roles, and organizations (business customers) whose members hold roles
-- per membership. Deleting a user, role, group, organization or API removes the rows that name it.

-- An API a client may ask tokens for (RFC 8707 resource indicator = identifier). token_lifetime is in
-- seconds (0: the tenant's access token lifetime); claims is a JSON list of the extra claims its access
-- tokens carry (roles, permissions, groups, org_id, org_roles).
CREATE TABLE apis (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id             TEXT NOT NULL,
    identifier     TEXT NOT NULL,
    name           TEXT NOT NULL DEFAULT '',
    token_lifetime BIGINT NOT NULL DEFAULT 0,
    claims         TEXT NOT NULL DEFAULT '[]',
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, identifier)
);

CREATE TABLE api_permissions (
    tenant_id   TEXT NOT NULL,
    api_id      TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, api_id, name),
    FOREIGN KEY (tenant_id, api_id) REFERENCES apis(tenant_id, id) ON DELETE CASCADE
);

ALTER TABLE roles ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;

CREATE TABLE role_permissions (
    tenant_id  TEXT NOT NULL,
    role       TEXT NOT NULL,
    api_id     TEXT NOT NULL,
    permission TEXT NOT NULL,
    PRIMARY KEY (tenant_id, role, api_id, permission),
    FOREIGN KEY (tenant_id, role) REFERENCES roles(tenant_id, name) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, api_id, permission) REFERENCES api_permissions(tenant_id, api_id, name) ON DELETE CASCADE
);
CREATE INDEX role_permissions_api ON role_permissions (tenant_id, api_id);

CREATE TABLE groups (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE group_members (
    tenant_id TEXT NOT NULL,
    group_id  TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    added_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, group_id, user_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups(tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX group_members_user ON group_members (tenant_id, user_id);

CREATE TABLE group_roles (
    tenant_id TEXT NOT NULL,
    group_id  TEXT NOT NULL,
    role      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, group_id, role),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups(tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, role) REFERENCES roles(tenant_id, name) ON DELETE CASCADE
);

-- branding is a JSON object (logo, colours) for the organization's sign-in pages.
CREATE TABLE organizations (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    name         TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    branding     TEXT NOT NULL DEFAULT '{}',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE organization_members (
    tenant_id TEXT NOT NULL,
    org_id    TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    joined_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, org_id, user_id),
    FOREIGN KEY (tenant_id, org_id) REFERENCES organizations(tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX organization_members_user ON organization_members (tenant_id, user_id);

-- The tenant roles a member holds within one organization only.
CREATE TABLE organization_member_roles (
    tenant_id TEXT NOT NULL,
    org_id    TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    role      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, org_id, user_id, role),
    FOREIGN KEY (tenant_id, org_id, user_id) REFERENCES organization_members(tenant_id, org_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, role) REFERENCES roles(tenant_id, name) ON DELETE CASCADE
);

-- The upstream identity providers an organization's members sign in with.
CREATE TABLE organization_connections (
    tenant_id     TEXT NOT NULL,
    org_id        TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, org_id, connection_id),
    FOREIGN KEY (tenant_id, org_id) REFERENCES organizations(tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, connection_id) REFERENCES connections(tenant_id, id) ON DELETE CASCADE
);

-- A client that must sign users in to an organization, and the extra claims (roles, permissions, groups,
-- org_id, org_roles) its tokens carry.
ALTER TABLE clients ADD COLUMN organization_required BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clients ADD COLUMN token_claims TEXT NOT NULL DEFAULT '[]';

-- The API (resource) and organization an authorization was given for, kept with the code and the grant
-- so that the tokens issued from them are for the same API and organization.
ALTER TABLE authorization_codes ADD COLUMN resource TEXT NOT NULL DEFAULT '';
ALTER TABLE authorization_codes ADD COLUMN org_id TEXT NOT NULL DEFAULT '';
ALTER TABLE grants ADD COLUMN resource TEXT NOT NULL DEFAULT '';
ALTER TABLE grants ADD COLUMN org_id TEXT NOT NULL DEFAULT '';
