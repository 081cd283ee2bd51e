-- Tenant-consistent foreign keys. A child row that names a parent (project, client, task, invitation) now
-- references the parent's (id, agency_id), so the database itself refuses a row whose agency_id differs
-- from its parent's: a cross-tenant link is a foreign key violation (23503), not just a query-scoping bug.
--
-- It also makes each insert cheaper. The child's own agency_id -> agencies check was redundant once the
-- agency is checked through the parent, so it goes: one RI check fewer per task_assignees, invitations,
-- memberships, tasks and emails row (the CSV import writes ~5 of these per CSV row and spent ~25% of its
-- database time in RI checks). The child's agency stays valid transitively: every parent's agency_id still
-- references agencies, and every delete still cascades (agency -> project/client -> child) as before.
--
-- Composite foreign keys are MATCH SIMPLE: a row with any referencing column null is not checked at all.
-- That is fine for the not-null columns below; emails is the one table where it matters (see there).
--
-- The constraint names dropped are PostgreSQL's defaults for 0001_init.sql, checked against a migrated
-- database; the new ones follow the same naming. If an existing database holds a cross-tenant row, adding
-- the constraint fails and this migration rolls back: such a row is a bug to fix by hand, not to carry on.

-- Referenced keys. id alone is already unique; the pair is what a composite foreign key must point at. Each
-- is one more index entry per parent insert (measured: ~3-4 us per clients or invitations row, about what
-- one RI check costs), so per CSV row the import saves 5 checks and pays 2 index entries.
alter table projects add constraint projects_id_agency_id_key unique (id, agency_id);
alter table clients add constraint clients_id_agency_id_key unique (id, agency_id);
alter table tasks add constraint tasks_id_agency_id_key unique (id, agency_id);
alter table invitations add constraint invitations_id_agency_id_key unique (id, agency_id);
alter table firm_users add constraint firm_users_id_agency_id_key unique (id, agency_id);

-- tasks: 2 checks -> 1.
alter table tasks drop constraint tasks_project_id_fkey;
alter table tasks drop constraint tasks_agency_id_fkey;
alter table tasks add constraint tasks_project_id_agency_id_fkey
  foreign key (project_id, agency_id) references projects (id, agency_id) on delete cascade;

-- task_assignees: 3 checks -> 2.
alter table task_assignees drop constraint task_assignees_task_id_fkey;
alter table task_assignees drop constraint task_assignees_client_id_fkey;
alter table task_assignees drop constraint task_assignees_agency_id_fkey;
alter table task_assignees add constraint task_assignees_task_id_agency_id_fkey
  foreign key (task_id, agency_id) references tasks (id, agency_id) on delete cascade;
alter table task_assignees add constraint task_assignees_client_id_agency_id_fkey
  foreign key (client_id, agency_id) references clients (id, agency_id) on delete cascade;

-- memberships: 3 checks -> 2.
alter table memberships drop constraint memberships_project_id_fkey;
alter table memberships drop constraint memberships_client_id_fkey;
alter table memberships drop constraint memberships_agency_id_fkey;
alter table memberships add constraint memberships_project_id_agency_id_fkey
  foreign key (project_id, agency_id) references projects (id, agency_id) on delete cascade;
alter table memberships add constraint memberships_client_id_agency_id_fkey
  foreign key (client_id, agency_id) references clients (id, agency_id) on delete cascade;

-- invitations: 4 checks -> 3. created_by keeps its single-column key: it is nullable and `on delete set
-- null`, and a composite set-null would null agency_id too.
alter table invitations drop constraint invitations_project_id_fkey;
alter table invitations drop constraint invitations_client_id_fkey;
alter table invitations drop constraint invitations_agency_id_fkey;
alter table invitations add constraint invitations_project_id_agency_id_fkey
  foreign key (project_id, agency_id) references projects (id, agency_id) on delete cascade;
alter table invitations add constraint invitations_client_id_agency_id_fkey
  foreign key (client_id, agency_id) references clients (id, agency_id) on delete cascade;

-- emails: invitation_id, client_id and firm_user_id are each nullable, and a composite key on a row whose
-- column is null checks nothing, so dropping emails_agency_id_fkey would leave an email naming none of the
-- three with an unchecked agency_id. Instead of keeping that check on every row, every email must name at
-- least one of them (every kind does: invitation emails name the invitation and the client, password
-- resets the client, acceptance notices the invitation, the client and the firm user), and all three
-- references carry agency_id, so whichever is present ties the row to its agency. firm_user_id stays a
-- cascading reference to firm_users; it only gains agency_id, which firm-user-only emails need for the
-- agency check. A row naming the invitation and the client: 3 checks -> 2.
alter table emails add constraint emails_names_a_recipient_check check (num_nonnulls(invitation_id, client_id, firm_user_id) > 0);
alter table emails drop constraint emails_invitation_id_fkey;
alter table emails drop constraint emails_client_id_fkey;
alter table emails drop constraint emails_firm_user_id_fkey;
alter table emails drop constraint emails_agency_id_fkey;
alter table emails add constraint emails_invitation_id_agency_id_fkey
  foreign key (invitation_id, agency_id) references invitations (id, agency_id) on delete cascade;
alter table emails add constraint emails_client_id_agency_id_fkey
  foreign key (client_id, agency_id) references clients (id, agency_id) on delete cascade;
alter table emails add constraint emails_firm_user_id_agency_id_fkey
  foreign key (firm_user_id, agency_id) references firm_users (id, agency_id) on delete cascade;
