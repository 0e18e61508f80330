-- Runs once when the compose PostgreSQL starts empty: pgveil's login role and a database it owns.
CREATE ROLE app_login LOGIN PASSWORD 'app-login-secret';
CREATE DATABASE app OWNER app_login;
