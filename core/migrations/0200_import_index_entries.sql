-- Two index entries fewer per row an import writes (one invitation and one invitation.created event per
-- CSV row), each with a read that no longer needs it.
--
-- events (agency_id, id): the untyped feed (GET /v1/events without a type) now reads an agency's events in
-- id order as a merge of per-type scans of events_agency_type_id_idx (core/src/sql/events.ts), one per type
-- of the event catalog. The check makes the catalog the complete list of types in the table, so the merge
-- cannot miss an event; a new type in the catalog needs it in this list too (a test compares them).
alter table events add constraint events_type_check check (type in (
    'invitation.created',
    'invitation.accepted',
    'invitation.revoked',
    'invitation.expired',
    'invitation.resent',
    'invitation.reminded',
    'client.added_to_project',
    'client.removed_from_project',
    'client.deactivated',
    'client.reactivated',
    'client.created',
    'project.created',
    'task.assigned',
    'import.completed',
    'agency.updated',
    'user.invited',
    'user.invitation_resent',
    'user.joined',
    'user.updated',
    'user.deactivated',
    'api_key.created',
    'api_key.revoked'
));
drop index events_agency_id_idx;

-- invitations (agency_id, seq desc): the unfiltered listing (and its count and the bulk action's walk) is a
-- merge of the four statuses' scans of invitations_agency_status_seq_idx (core/src/sql/read/invitations.ts);
-- the status check already limits a row to those four.
drop index invitations_agency_seq_idx;
