-- A dispatch writes 50,000 tasks and 100,000 reminder rows in one statement, so per-row work
-- counts. Measured with bench/tasks.py: the reminder surrogate id (an index and an id per row)
-- and two per-row foreign-key triggers whose answer never changes within a dispatch.

-- A reminder is identified by its task, kind and offset: no surrogate id.
alter table task_reminders drop constraint task_reminders_pkey;
alter table task_reminders drop column id;
alter table task_reminders drop constraint task_reminders_task_id_kind_offset_minutes_key;
alter table task_reminders add primary key (task_id, kind, offset_minutes);

-- Dispatches and template versions are records of what was issued: never deleted (TRUNCATE
-- stays a DBA's tool).
create function refuse_delete() returns trigger
language plpgsql as $$
begin
    raise exception '% rows are records and are never deleted', tg_table_name
        using errcode = 'restrict_violation';
end $$;

create trigger dispatches_are_kept before delete on dispatches
    for each statement execute function refuse_delete();
create trigger task_template_versions_are_kept before delete on task_template_versions
    for each statement execute function refuse_delete();

-- A task's dispatch and template version are checked once per statement (a dispatch's tasks all
-- share them) instead of once per row; they never change afterwards.
alter table tasks drop constraint tasks_dispatch_id_fkey;
alter table tasks drop constraint tasks_template_id_template_version_fkey;

create function check_task_origins() returns trigger
language plpgsql as $$
declare
    missing record;
begin
    select o.dispatch_id, o.template_id, o.template_version into missing
      from (select distinct dispatch_id, template_id, template_version from new_tasks) o
     where (o.dispatch_id is not null
            and not exists (select from dispatches d where d.id = o.dispatch_id))
        or not exists (select from task_template_versions v
                        where v.template_id = o.template_id and v.version = o.template_version)
     limit 1;
    if found then
        raise exception 'task refers to a missing dispatch % or template version %/%',
            missing.dispatch_id, missing.template_id, missing.template_version
            using errcode = 'foreign_key_violation';
    end if;
    return null;
end $$;

create trigger tasks_origins_exist after insert on tasks
    referencing new table as new_tasks
    for each statement execute function check_task_origins();

create function refuse_origin_change() returns trigger
language plpgsql as $$
begin
    if (new.dispatch_id, new.template_id, new.template_version)
       is distinct from (old.dispatch_id, old.template_id, old.template_version) then
        raise exception 'a task''s dispatch and template version never change'
            using errcode = 'restrict_violation';
    end if;
    return new;
end $$;

create trigger tasks_origins_fixed before update of dispatch_id, template_id, template_version
    on tasks for each row execute function refuse_origin_change();
