-- Create user table
--
-- Revision ID: a1c3e5f70912
-- Revises:
-- Create Date: 2025-09-01T09:00:00Z
--
-- Tables affected:
-- - user: create table
--
-- IMPORTANT: This migration only changes the schema.
-- No data population script needed.

-- migrate:up
CREATE TABLE "user" (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- migrate:down
DROP TABLE "user";
