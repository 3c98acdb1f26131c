-- The branch-head dashboard's rollup: tasks per assignee and bank day, so that completion per
-- RM, per team and per week reads days x RMs instead of every task of a year.
--
-- A task counts on the bank day it was created (`survey_day`, the bank's time zone as the survey
-- rollups read it) for its current assignee: `assigned` every task, `done` those whose status
-- is done now. Triggers keep the counts exact as tasks are inserted, change status (to done or
-- back), move to another assignee and are deleted; the migration counts the tasks already there.
-- Counts are signed deltas added with one upsert in key order (concurrent writers lock shared
-- rows in the same order); a count never goes below zero as long as the triggers run.
create table dashboard_task_days (
    assignee_id  uuid not null,
    day          date not null,
    assigned     int not null default 0,
    done         int not null default 0,
    primary key (assignee_id, day) include (assigned, done)
);

create function dashboard_task_days_insert() returns trigger
language plpgsql as $$
begin
    insert into dashboard_task_days as d (assignee_id, day, assigned, done)
    select n.assignee_id, survey_day(n.created_at), count(*),
           count(*) filter (where n.status = 'done')
      from new_rows n
     group by 1, 2
     order by 1, 2
        on conflict (assignee_id, day)
        do update set assigned = d.assigned + excluded.assigned, done = d.done + excluded.done;
    return null;
end $$;

create function dashboard_task_days_delete() returns trigger
language plpgsql as $$
begin
    insert into dashboard_task_days as d (assignee_id, day, assigned, done)
    select o.assignee_id, survey_day(o.created_at), -count(*),
           -count(*) filter (where o.status = 'done')
      from old_rows o
     group by 1, 2
     order by 1, 2
        on conflict (assignee_id, day)
        do update set assigned = d.assigned + excluded.assigned, done = d.done + excluded.done;
    return null;
end $$;

-- One task changed what it counts for: out of its old (assignee, day, done), into its new one.
create function dashboard_task_days_update() returns trigger
language plpgsql as $$
begin
    insert into dashboard_task_days as d (assignee_id, day, assigned, done)
    select c.assignee_id, c.day, sum(c.assigned), sum(c.done)
      from (values (old.assignee_id, survey_day(old.created_at), -1,
                    -(old.status = 'done')::int),
                   (new.assignee_id, survey_day(new.created_at), 1,
                    (new.status = 'done')::int)) as c (assignee_id, day, assigned, done)
     group by 1, 2
     order by 1, 2
        on conflict (assignee_id, day)
        do update set assigned = d.assigned + excluded.assigned, done = d.done + excluded.done;
    return null;
end $$;

create trigger dashboard_task_days_insert after insert on tasks
    referencing new table as new_rows for each statement
    execute function dashboard_task_days_insert();
create trigger dashboard_task_days_delete after delete on tasks
    referencing old table as old_rows for each statement
    execute function dashboard_task_days_delete();
-- Only the updates that move a task between counts fire (most updates touch other columns).
create trigger dashboard_task_days_update after update on tasks
    for each row
    when (old.assignee_id is distinct from new.assignee_id
          or old.created_at is distinct from new.created_at
          or (old.status = 'done') is distinct from (new.status = 'done'))
    execute function dashboard_task_days_update();

insert into dashboard_task_days (assignee_id, day, assigned, done)
select t.assignee_id, survey_day(t.created_at), count(*), count(*) filter (where t.status = 'done')
  from tasks t
 group by 1, 2;

-- The latest low scores of a subtree: responses by unit, newest first.
create index survey_responses_unit on survey_responses (org_unit_id, submitted_at desc);
-- Open work orders of a subtree now (counts, and the list by due time).
create index work_orders_open_unit on work_orders (org_unit_id, due_at)
    where state in ('open', 'in_progress');
