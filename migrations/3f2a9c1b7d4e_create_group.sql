-- Create group table
--
-- Revision ID: 3f2a9c1b7d4e
-- Revises: a1c3e5f70912
-- Create Date: 2025-09-02T09:00:00Z
--
-- Tables affected:
-- - group: create table
--
-- IMPORTANT: This migration only changes the schema.
-- Default groups are created by populate/001_default_groups.sql.

-- migrate:up
CREATE TABLE "group" (
    id INTEGER PRIMARY KEY,
    name TEXT,
    description TEXT
);

-- migrate:down
DROP TABLE "group";
