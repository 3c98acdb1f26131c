-- A published survey version is what invitations were sent with and answers were given to: it
-- never changes and is never removed. The application only inserts versions; this makes the
-- database refuse anything else too (a stray UPDATE in a script, a bug).
create function survey_version_unchangeable() returns trigger language plpgsql as $$
begin
    raise exception 'survey version %/% is published and cannot be changed',
        old.survey_id, old.version
        using errcode = 'restrict_violation';
end
$$;

create trigger survey_versions_unchangeable
    before update or delete on survey_versions
    for each row execute function survey_version_unchangeable();
