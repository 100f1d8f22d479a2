-- Transbordo's own database and user (Temporal's auto-setup creates its databases itself).
-- Documentation for deploy/compose.yaml; change the password.
CREATE USER transbordo WITH PASSWORD 'change-me';
CREATE DATABASE transbordo OWNER transbordo;
