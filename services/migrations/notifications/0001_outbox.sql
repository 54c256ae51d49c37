-- Notifications owns the e-mail outbox. "Sending" stores the message; the message key is the
-- idempotency key, so a retried send never produces a second e-mail.
CREATE TABLE notifications_outbox (
    message_key TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
