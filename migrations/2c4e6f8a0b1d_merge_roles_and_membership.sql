-- Merge roles and membership branches
--
-- Revision ID: 2c4e6f8a0b1d
-- Revises: 9e1b3d5f7a8c, c4e6a8b0d2f4
-- Create Date: 2025-09-06T09:00:00Z
--
-- IMPORTANT: A merge migration joins two heads; it changes nothing.

-- migrate:up

-- migrate:down
