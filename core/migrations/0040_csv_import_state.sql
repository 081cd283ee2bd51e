-- CSV import run state. Both tables are written in the same transaction as the batch they describe, so a
-- resumed or replayed batch sees exactly what the committed batches did.

-- The file's header row, as uploaded: errors.csv repeats it so the bad rows can be fixed and re-uploaded.
alter table imports add column columns jsonb;

-- Every project this import touched, by its key in the file (external id, else name): tells "created by
-- this import" (template fixed by its first row) from "already existed" (counted once as reused).
create table import_projects (
  import_id uuid not null references imports(id) on delete cascade,
  project_key text not null,
  project_id uuid not null references projects(id) on delete cascade,
  template_id uuid,
  created boolean not null,
  primary key (import_id, project_key)
);

-- (project key, email) of every applied row: a later row with the same pair is a duplicate, whichever
-- batch it falls in, without keeping a set of the whole file in the worker's memory.
create table import_keys (
  import_id uuid not null references imports(id) on delete cascade,
  project_key text not null,
  email_normalized text not null,
  primary key (import_id, project_key, email_normalized)
);
