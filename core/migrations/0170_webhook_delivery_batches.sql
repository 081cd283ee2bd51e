-- Deliveries are dispatched in batches (one deliver-webhooks job each, named after the batch): the batch id
-- lets the stale-delivery sweep re-add exactly the job a delivery was dispatched in, which BullMQ ignores
-- while that job still exists, instead of a second job that would send the delivery twice.
alter table webhook_deliveries add column batch_id uuid;
