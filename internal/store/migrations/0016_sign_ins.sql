-- Progressive profiling: how many times each user signed in (a session started with credentials; a
-- reused SSO session does not count), and the profile fields the user chose to skip, as a JSON object
-- from field name to the sign-in count at the skip, so the field is asked again only later.

ALTER TABLE users ADD COLUMN sign_ins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN profile_skips TEXT NOT NULL DEFAULT '{}';
