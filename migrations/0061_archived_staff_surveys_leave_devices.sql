-- An archived staff survey leaves its invitees' devices.
--
-- Archiving a staff survey closes it (its answers show only then, and it takes no answer after):
-- its open invitations left the app's inbox, but a device kept each one it had synced, and its
-- answer was refused (409 survey.archived). Archiving now records, for each invitee holding an
-- open invitation of the survey, a change of that invitation (keyed by its id, as when it is
-- answered or expires), and a pull answers it as a delete (sync/queries/_surveys.py reads an
-- invitation of an archived survey as not open). The customer surveys' part is unchanged (0029).

create or replace function sync_surveys() returns trigger
language plpgsql as $$
begin
    if tg_op = 'UPDATE' then
        execute $sql$
        insert into sync_log (user_id, entity, entity_key)
        select distinct '00000000-0000-0000-0000-000000000000'::uuid, 'survey', n.id::text
          from new_rows n join old_rows o on o.id = n.id
         where 'customer' in (n.audience, o.audience)
           and (n.status = 'published' or o.status = 'published')
           and (n.status, n.version, n.audience, n.owner_unit_id)
               is distinct from (o.status, o.version, o.audience, o.owner_unit_id)
        $sql$;
        execute $sql$
        insert into sync_log (user_id, entity, entity_key)
        select i.user_id, 'survey', i.id::text
          from new_rows n
          join old_rows o on o.id = n.id
          join survey_invitations i on i.survey_id = n.id
         where n.audience = 'staff' and n.status = 'archived' and o.status <> 'archived'
           and i.user_id is not null and i.responded_at is null and i.expires_at > now()
        $sql$;
    elsif tg_op = 'INSERT' then
        insert into sync_log (user_id, entity, entity_key)
        select distinct '00000000-0000-0000-0000-000000000000'::uuid, 'survey', n.id::text
          from new_rows n where n.audience = 'customer' and n.status = 'published';
    else
        insert into sync_log (user_id, entity, entity_key)
        select distinct '00000000-0000-0000-0000-000000000000'::uuid, 'survey', o.id::text
          from old_rows o where o.audience = 'customer' and o.status = 'published';
    end if;
    return null;
end $$;
