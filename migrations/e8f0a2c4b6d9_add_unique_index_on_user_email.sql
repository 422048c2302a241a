-- Add unique index on user email
--
-- Revision ID: e8f0a2c4b6d9
-- Revises: 9b1c0e2f4a77
-- Create Date: 2025-10-22T08:15:00Z
--
-- Tables affected:
-- - user: unique index on lower(email)
--
-- IMPORTANT: This migration only changes the schema.
-- No data population script needed.

-- migrate:up
CREATE UNIQUE INDEX user_email_unique ON "user" (lower(email));

-- migrate:down
DROP INDEX user_email_unique;
