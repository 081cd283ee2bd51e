-- A replayed Idempotency-Key answers the very bytes of the first response (jsonb reorders keys, and the
-- problem+json of an error carries its instance and request_id): kept as text with its content type.
-- Rows stored before keep only response_body and replay from it.
alter table idempotency_keys
  add column response_text text,
  add column response_type text;
