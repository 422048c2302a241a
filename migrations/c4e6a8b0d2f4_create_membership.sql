-- Create membership table
--
-- Revision ID: c4e6a8b0d2f4
-- Revises: 7b8e2d4c6a10
-- Create Date: 2025-09-05T10:00:00Z
-- Branch Labels: membership
--
-- Tables affected:
-- - membership: create table with foreign keys to user and group, and an index by group
--
-- IMPORTANT: This migration only changes the schema.
-- No data population script needed.

-- migrate:up
CREATE TABLE membership (
    user_id INTEGER NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL REFERENCES "group"(id) ON DELETE CASCADE,
    joined_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX membership_by_group ON membership (group_id, user_id);

-- migrate:down
DROP INDEX membership_by_group;
DROP TABLE membership;
