-- Web origins whose browser apps may call the token endpoints (CORS), beyond the origins of a public
-- client's redirect URIs: a JSON array of canonical origins (scheme://host[:port]).
ALTER TABLE clients ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '[]';
