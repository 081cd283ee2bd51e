-- When a delivery's latest attempt was claimed. The sweep hands a pending delivery whose job is gone or
-- failed back to a deliver-webhook job once its next attempt is overdue by the retry schedule, counted from
-- this (created_at before the first attempt): an attempt claimed but never recorded (its job died) still
-- counts, which the attempt log alone would not show.
alter table webhook_deliveries add column attempted_at timestamptz;
update webhook_deliveries d set attempted_at = (select max(a.created_at) from webhook_attempts a where a.delivery_id = d.id)
 where d.status = 'pending' and d.attempts > 0;
