-- Webhook dispatch. Event ids are assigned at insert but transactions commit out of order, so the
-- dispatcher cannot keep a plain "id > cursor". Instead it records, once per scan, the highest event id
-- visible at that moment. Any event inserted after a mark was taken has a larger id than the mark (ids
-- come from one sequence), so "id > the mark taken W ago" covers every event whose transaction started
-- within the last W, including ones that commit late. See core/src/usecases/hooks.ts#dispatchHookEvents.
create table webhook_dispatch_marks (
  observed_at timestamptz primary key,
  max_event_id bigint not null
);

-- A hook's delivery log, newest first.
create index webhook_deliveries_hook_seq_idx on webhook_deliveries (hook_id, seq desc);
-- Recovery of deliveries whose job was never enqueued (process died between commit and enqueue).
create index webhook_deliveries_pending_idx on webhook_deliveries (created_at) where status = 'pending';
-- Listing an agency's hooks, newest first.
create index hooks_agency_seq_idx on hooks (agency_id, seq desc);
