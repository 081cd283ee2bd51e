-- One index entry fewer per invitation written (an import writes one per CSV row). The unfiltered listing,
-- its count and the bulk action's walk over it read the newest invitations as a merge of the four stored
-- statuses' ranges of invitations_agency_status_seq_idx (core/src/sql/read/invitations.ts, newestFirst);
-- invitations_status_check limits a row to those four.
drop index invitations_agency_seq_idx;
