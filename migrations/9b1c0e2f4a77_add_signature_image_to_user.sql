-- Add signature image to user
--
-- Revision ID: 9b1c0e2f4a77
-- Revises: 2c4e6f8a0b1d
-- Create Date: 2025-10-21T10:30:00Z
--
-- Tables affected:
-- - user: add column signature_image
--
-- IMPORTANT: This migration only changes the schema.
-- No data population script needed.

-- migrate:up
ALTER TABLE "user" ADD COLUMN signature_image TEXT;

-- migrate:down
ALTER TABLE "user" DROP COLUMN signature_image;
