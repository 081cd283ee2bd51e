-- The duplicate rows of an import, so every data row of a file is accounted for in a file a user can
-- download: imported, or in errors.csv (import_errors), or here (duplicates.csv), each exactly once.
-- `duplicate_of` is the row number of the applied row it repeats: known at once when both are in one batch,
-- filled in when the import finishes when the first one was in an earlier batch (null when no row of the
-- file put the pair there: an invitation made through the API, while the import ran, into a project the
-- import created). `project_key` and `email_normalized` are what made it a duplicate.
create table import_duplicates (
  import_id uuid not null references imports(id) on delete cascade,
  row_number integer not null,
  duplicate_of integer,
  project_key text not null,
  email_normalized text not null,
  values jsonb not null,
  primary key (import_id, row_number)
);
