-- Core permissions
--
-- Requires: 7b8e2d4c6a10
--
-- IMPORTANT: idempotent: INSERT OR IGNORE on the unique permission code.

INSERT OR IGNORE INTO permission (code, description) VALUES
    ('user.read', 'Read user profiles'),
    ('user.write', 'Edit user profiles'),
    ('group.manage', 'Create and edit groups');
