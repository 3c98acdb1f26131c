-- Who edited a version's content in place (a draft, a rejected or an approved version, which an
-- edit makes a draft again): compliance cannot review a version they created, edited or
-- submitted (four eyes). Before this column an edit recorded no editor, so a marketing user who
-- changed another's draft and later became compliance could approve their own words. A new
-- version made by an edit is `created_by` its editor, as before. Each user once, in the order of
-- their first edit.
alter table brochure_versions add column edited_by uuid[] not null default '{}';

-- The edits made before this column, from the audit trail (`brochure.edited`, one per edit in
-- place, with the version in its detail).
update brochure_versions v
   set edited_by = e.editors
  from (select split_part(a.subject, ':', 2)::uuid as brochure_id, a.version::int as version,
               array_agg(a.actor_id order by a.first_edit) as editors
          from (select subject, detail ->> 'version' as version, actor_id, min(id) as first_edit
                  from audit_events
                 where action = 'brochure.edited' and actor_id is not null
                   and subject ~ '^brochure:[0-9a-f-]{36}$'
                   and detail ->> 'version' ~ '^[0-9]{1,9}$'
                 group by subject, detail ->> 'version', actor_id) a
         group by 1, 2) e
 where v.brochure_id = e.brochure_id and v.version = e.version;
