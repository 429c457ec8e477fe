-- Nothing to do on PostgreSQL: SQLite's 0022 turns three rowid tables into WITHOUT ROWID ones
-- (a table clustered on its primary key), a storage layout PostgreSQL does not have. The
-- number exists in both dialects so their migration lists stay the same.
SELECT 1;
