-- A token written by every transaction that changes something, just before
-- its COMMIT: should the COMMIT's answer be lost, another connection
-- learns from the token whether it was applied (see commitOutcome).
-- Purged after a day.

CREATE TABLE commit_tokens (
	token   uuid PRIMARY KEY,
	at_ns   bigint NOT NULL
);
CREATE INDEX commit_tokens_at ON commit_tokens (at_ns);
