-- Create role_permission link table
--
-- Revision ID: 9e1b3d5f7a8c
-- Revises: 5d9f1e3b7c22
-- Create Date: 2025-09-05T09:00:00Z
--
-- Tables affected:
-- - role_permission: create table linking role and permission
--
-- IMPORTANT: This migration only changes the schema.
-- No data population script needed.

-- migrate:up
CREATE TABLE role_permission (
    role_id INTEGER NOT NULL REFERENCES role(id) ON DELETE CASCADE,
    permission_id INTEGER NOT NULL REFERENCES permission(id) ON DELETE CASCADE,
    PRIMARY KEY (role_id, permission_id)
) WITHOUT ROWID;

-- migrate:down
DROP TABLE role_permission;
