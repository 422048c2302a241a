-- Rebuild group with a required, non-empty name
--
-- Revision ID: 6a7b8c9d0e1f
-- Revises: e8f0a2c4b6d9
-- Create Date: 2025-11-03T14:00:00Z
-- Allow: data-change: a SQLite table rebuild copies the existing rows into the new table
-- Allow: destructive: the old table is dropped only after its rows are copied
--
-- Tables affected:
-- - group: rebuilt so that name is NOT NULL with CHECK (name <> '')
--
-- IMPORTANT: SQLite cannot add NOT NULL to an existing column, so the table is rebuilt
-- (create, copy, drop, rename). Rows with a NULL name get their id as name.

-- migrate:up
CREATE TABLE group_new (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL CHECK (name <> ''),
    description TEXT
);
INSERT INTO group_new (id, name, description)
    SELECT id, COALESCE(NULLIF(name, ''), 'group-' || id), description FROM "group";
DROP TABLE "group";
ALTER TABLE group_new RENAME TO "group";

-- migrate:down
CREATE TABLE group_old (
    id INTEGER PRIMARY KEY,
    name TEXT,
    description TEXT
);
INSERT INTO group_old (id, name, description) SELECT id, name, description FROM "group";
DROP TABLE "group";
ALTER TABLE group_old RENAME TO "group";
