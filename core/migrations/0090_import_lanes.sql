-- An import is written by several lanes at once, each its own transaction on its own connection, so
-- PostgreSQL works on more than one core. Rows are routed to a lane by their project key, so everything
-- that must be decided in file order (a project's template, duplicates of a project+email pair) stays
-- within one lane. Each lane keeps its own resume point (every row of the lane up to it is applied);
-- imports.checkpoint_row becomes progress, the number of rows applied by all lanes. The number of lanes of
-- an import is fixed by its first run (the rows here), so a resume after a config change routes rows the same.
create table import_lanes (
  import_id uuid not null references imports(id) on delete cascade,
  lane smallint not null,
  checkpoint_row integer not null default 0,
  primary key (import_id, lane)
);
