-- Create permission table
--
-- Revision ID: 7b8e2d4c6a10
-- Revises: 3f2a9c1b7d4e
-- Create Date: 2025-09-03T09:00:00Z
--
-- Tables affected:
-- - permission: create table with a unique code
--
-- IMPORTANT: This migration only changes the schema.
-- Core permissions are created by populate/002_core_permissions.sql.

-- migrate:up
CREATE TABLE permission (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT ''
) STRICT;

-- migrate:down
DROP TABLE permission;
