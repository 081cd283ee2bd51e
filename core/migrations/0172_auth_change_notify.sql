-- API processes cache an API key's principal for a few seconds (API_KEY_CACHE_SECONDS). Whatever changes
-- what a key may do (the key revoked or deleted; its user deactivated, re-roled or renamed; the agency
-- renamed or deleted) notifies every listening API process, which drops that agency's cached principals
-- at once. Triggers, not application code, so a change made from the CLI or by hand in SQL counts too.
create function onramp_notify_auth_change() returns trigger language plpgsql as $$
begin
  perform pg_notify('onramp_auth_changed', coalesce(new.agency_id, old.agency_id)::text);
  return null;
end $$;

create function onramp_notify_agency_change() returns trigger language plpgsql as $$
begin
  perform pg_notify('onramp_auth_changed', coalesce(new.id, old.id)::text);
  return null;
end $$;

create trigger api_keys_auth_change after update on api_keys
  for each row when (old.revoked_at is distinct from new.revoked_at or old.user_id is distinct from new.user_id
                     or old.key_hash is distinct from new.key_hash)
  execute function onramp_notify_auth_change();
create trigger api_keys_auth_delete after delete on api_keys
  for each row execute function onramp_notify_auth_change();

create trigger firm_users_auth_change after update on firm_users
  for each row when (old.status is distinct from new.status or old.role is distinct from new.role
                     or old.name is distinct from new.name or old.email is distinct from new.email)
  execute function onramp_notify_auth_change();
create trigger firm_users_auth_delete after delete on firm_users
  for each row execute function onramp_notify_auth_change();

create trigger agencies_auth_change after update on agencies
  for each row when (old.name is distinct from new.name)
  execute function onramp_notify_agency_change();
create trigger agencies_auth_delete after delete on agencies
  for each row execute function onramp_notify_agency_change();
