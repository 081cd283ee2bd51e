-- No planner statistics on the tenant column of the tables looked up by (agency_id, unique key).
--
-- Statistics describe the agencies that existed at the last ANALYZE. An agency they have not seen (a new
-- one, the usual author of a big first import) is then estimated at about one row, and a lookup such as
-- `agency_id = $1 and email_normalized = $2` was planned on the (agency_id, seq) index with the email as
-- a filter: a scan of all the agency's rows per probe. An import of 100k rows into a new agency, on a
-- database whose statistics had seen one other agency, took 41 s in that single statement instead of 0.3 s
-- (quadratic in the agency's size). Without statistics on the column, equality on it is estimated at the
-- default 0.5% of the table, and the unique (agency_id, key) index, one row, always wins. Lists are
-- unaffected: they read their (agency_id, ..., seq) index in order under a LIMIT either way.
alter table clients alter column agency_id set statistics 0;
alter table projects alter column agency_id set statistics 0;
alter table invitations alter column agency_id set statistics 0;

-- ANALYZE leaves what it gathered before in place for a column it now skips; only a superuser may clear
-- it. Fresh databases have nothing to clear. An existing one migrated by another role keeps the old
-- figures until an administrator runs this delete.
do $$
begin
  if (select rolsuper from pg_roles where rolname = current_user) then
    delete from pg_statistic s
     using pg_attribute a
     where s.starelid = a.attrelid and s.staattnum = a.attnum and a.attname = 'agency_id'
       and a.attrelid in ('clients'::regclass, 'projects'::regclass, 'invitations'::regclass);
  end if;
end $$;
