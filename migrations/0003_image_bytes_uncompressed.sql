-- foodai 0003: store image bytes without TOAST compression.
-- JPEG, PNG and WebP are compressed already: PostgreSQL's default (EXTENDED) storage runs
-- pglz over every 200 KB image only to find it does not shrink, ~2 to 3 ms of server CPU
-- per insert (measured, docs/benchmarks.md). EXTERNAL still moves the bytes out of line
-- (TOAST), so rows stay small; it only skips the compression attempt. Existing rows are
-- left as they are; only new values are affected.
ALTER TABLE product_recognition_job_images ALTER COLUMN data SET STORAGE EXTERNAL;
