-- An optional, unique email per user: `username_field = "email"` logs in by it. NULL (no
-- email) may repeat; a given address belongs to one user.
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
