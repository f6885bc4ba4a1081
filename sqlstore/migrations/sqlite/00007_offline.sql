-- +goose Up
-- Offline scans (issue 12): a scan a device decided on its own while the
-- network was down, uploaded later. The row keeps the device's verdict and
-- clock offset (server minus device, ms; device_time stays the device's
-- own); conflict names a disagreement between the device and the server
-- (already_inside, refused_by_server, admissible), NULL for none. An
-- offline upload is recorded once per (event, nonce), whatever its result.
ALTER TABLE scans ADD COLUMN offline INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scans ADD COLUMN device_verdict TEXT;
ALTER TABLE scans ADD COLUMN clock_offset_ms INTEGER;
ALTER TABLE scans ADD COLUMN conflict TEXT;
CREATE UNIQUE INDEX scans_offline_nonce ON scans (event_id, nonce) WHERE offline;
CREATE INDEX scans_conflicts ON scans (event_id) WHERE conflict IS NOT NULL;

-- +goose Down
DROP INDEX scans_conflicts;
DROP INDEX scans_offline_nonce;
ALTER TABLE scans DROP COLUMN conflict;
ALTER TABLE scans DROP COLUMN clock_offset_ms;
ALTER TABLE scans DROP COLUMN device_verdict;
ALTER TABLE scans DROP COLUMN offline;
