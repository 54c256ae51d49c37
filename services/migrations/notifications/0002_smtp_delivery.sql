-- The outbox is delivered over SMTP by the notifications service's relay. Each message is
-- claimed (status 'sending', `lease_until_ms`) before it is handed to the SMTP server, so two
-- relays never send the same one; 'delivered' and 'failed' are final. A message whose server
-- did not answer is tried again at `next_attempt_at_ms`, up to SMTP_MAX_ATTEMPTS.
ALTER TABLE notifications_outbox ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE notifications_outbox ADD COLUMN next_attempt_at_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE notifications_outbox ADD COLUMN lease_until_ms BIGINT;
ALTER TABLE notifications_outbox ADD COLUMN delivered_at_ms BIGINT;
ALTER TABLE notifications_outbox ADD COLUMN last_error TEXT;
CREATE INDEX notifications_outbox_due ON notifications_outbox (status, next_attempt_at_ms);
