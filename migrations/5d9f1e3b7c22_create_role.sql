-- Create role table
--
-- Revision ID: 5d9f1e3b7c22
-- Revises: 7b8e2d4c6a10
-- Create Date: 2025-09-04T09:00:00Z
-- Branch Labels: roles
--
-- Tables affected:
-- - role: create table
--
-- IMPORTANT: This migration only changes the schema.
-- No data population script needed.

-- migrate:up
CREATE TABLE role (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL COLLATE NOCASE UNIQUE
);

-- migrate:down
DROP TABLE role;
