-- Default groups
--
-- Requires: 6a7b8c9d0e1f
--
-- IMPORTANT: idempotent: inserts each group only when no group of that name exists.

INSERT INTO "group" (name, description)
SELECT 'admins', 'Administrators'
WHERE NOT EXISTS (SELECT 1 FROM "group" WHERE name = 'admins');

INSERT INTO "group" (name, description)
SELECT 'members', 'Everyone with an account'
WHERE NOT EXISTS (SELECT 1 FROM "group" WHERE name = 'members');
