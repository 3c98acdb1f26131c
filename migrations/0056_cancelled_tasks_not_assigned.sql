-- A cancelled task is no longer assigned to its RM. The dashboard's rollups (0025) counted every
-- task as assigned, so when the bank cancelled tasks (a customer closed their accounts: 客户已销户;
-- a branch head cancelled one; a dispatch ended) the RM's completion rate dropped although
-- nothing was left undone. From now on `assigned` counts the tasks whose status is not
-- cancelled, and completion is done / assigned. An expired task (its validity ran out, not
-- done) still counts as assigned and not done.
--
-- The cancelled tasks are counted too (`cancelled`), so that assigned + cancelled is every task
-- of an RM's day or week: the dashboard's `tasks` and `rm_tasks` exports list them all and
-- count their rows from the rollups (the count decides a download at once or by the worker).
--
-- The triggers keep the same design (signed deltas added by one statement, days first, each
-- table's rows in key order); the update trigger also fires when a task is cancelled or (by
-- hand: the app never does it) comes back from cancelled. Both rollups are then counted again
-- from the tasks, so the days and weeks already there say the same.

lock table tasks in share row exclusive mode;  -- no task written meanwhile

alter table dashboard_task_days add column cancelled int not null default 0;
alter table dashboard_task_weeks add column cancelled int not null default 0;

create or replace function dashboard_task_days_insert() returns trigger
language plpgsql as $$
begin
    with c as (
        select d.assignee_id, d.day, sum(d.assigned)::int as assigned, sum(d.done)::int as done,
               sum(d.cancelled)::int as cancelled
          from (select n.assignee_id, survey_day(n.created_at) as day,
                       (n.status <> 'cancelled')::int as assigned,
                       (n.status = 'done')::int as done,
                       (n.status = 'cancelled')::int as cancelled
                  from new_rows n) d
         group by 1, 2
        having sum(d.assigned) <> 0 or sum(d.done) <> 0 or sum(d.cancelled) <> 0
    ),
    days as (
        insert into dashboard_task_days as t (assignee_id, day, assigned, done, cancelled)
        select c.assignee_id, c.day, c.assigned, c.done, c.cancelled from c order by 1, 2
            on conflict (assignee_id, day)
            do update set assigned = t.assigned + excluded.assigned, done = t.done + excluded.done,
                          cancelled = t.cancelled + excluded.cancelled
    )
    insert into dashboard_task_weeks as t (assignee_id, week, assigned, done, cancelled)
    select c.assignee_id, dashboard_week(c.day), sum(c.assigned), sum(c.done), sum(c.cancelled)
      from c
     group by 1, 2
     order by 1, 2
        on conflict (assignee_id, week)
        do update set assigned = t.assigned + excluded.assigned, done = t.done + excluded.done,
                      cancelled = t.cancelled + excluded.cancelled;
    return null;
end $$;

create or replace function dashboard_task_days_delete() returns trigger
language plpgsql as $$
begin
    with c as (
        select d.assignee_id, d.day, sum(d.assigned)::int as assigned, sum(d.done)::int as done,
               sum(d.cancelled)::int as cancelled
          from (select o.assignee_id, survey_day(o.created_at) as day,
                       -(o.status <> 'cancelled')::int as assigned,
                       -(o.status = 'done')::int as done,
                       -(o.status = 'cancelled')::int as cancelled
                  from old_rows o) d
         group by 1, 2
        having sum(d.assigned) <> 0 or sum(d.done) <> 0 or sum(d.cancelled) <> 0
    ),
    days as (
        insert into dashboard_task_days as t (assignee_id, day, assigned, done, cancelled)
        select c.assignee_id, c.day, c.assigned, c.done, c.cancelled from c order by 1, 2
            on conflict (assignee_id, day)
            do update set assigned = t.assigned + excluded.assigned, done = t.done + excluded.done,
                          cancelled = t.cancelled + excluded.cancelled
    )
    insert into dashboard_task_weeks as t (assignee_id, week, assigned, done, cancelled)
    select c.assignee_id, dashboard_week(c.day), sum(c.assigned), sum(c.done), sum(c.cancelled)
      from c
     group by 1, 2
     order by 1, 2
        on conflict (assignee_id, week)
        do update set assigned = t.assigned + excluded.assigned, done = t.done + excluded.done,
                      cancelled = t.cancelled + excluded.cancelled;
    return null;
end $$;

-- One task changed what it counts for: out of its old (assignee, day, assigned, done,
-- cancelled), into its new one (cancelled: no longer assigned, counted as cancelled).
create or replace function dashboard_task_days_update() returns trigger
language plpgsql as $$
begin
    with c as (
        select d.assignee_id, d.day, sum(d.assigned)::int as assigned, sum(d.done)::int as done,
               sum(d.cancelled)::int as cancelled
          from (values (old.assignee_id, survey_day(old.created_at),
                        -(old.status <> 'cancelled')::int, -(old.status = 'done')::int,
                        -(old.status = 'cancelled')::int),
                       (new.assignee_id, survey_day(new.created_at),
                        (new.status <> 'cancelled')::int, (new.status = 'done')::int,
                        (new.status = 'cancelled')::int))
                as d (assignee_id, day, assigned, done, cancelled)
         group by 1, 2
        having sum(d.assigned) <> 0 or sum(d.done) <> 0 or sum(d.cancelled) <> 0
    ),
    days as (
        insert into dashboard_task_days as t (assignee_id, day, assigned, done, cancelled)
        select c.assignee_id, c.day, c.assigned, c.done, c.cancelled from c order by 1, 2
            on conflict (assignee_id, day)
            do update set assigned = t.assigned + excluded.assigned, done = t.done + excluded.done,
                          cancelled = t.cancelled + excluded.cancelled
    )
    insert into dashboard_task_weeks as t (assignee_id, week, assigned, done, cancelled)
    select c.assignee_id, dashboard_week(c.day), sum(c.assigned), sum(c.done), sum(c.cancelled)
      from c
     group by 1, 2
     order by 1, 2
        on conflict (assignee_id, week)
        do update set assigned = t.assigned + excluded.assigned, done = t.done + excluded.done,
                      cancelled = t.cancelled + excluded.cancelled;
    return null;
end $$;

-- Only the updates that move a task between counts fire (most updates touch other columns):
-- now also a task cancelled, or back from cancelled.
drop trigger dashboard_task_days_update on tasks;
create trigger dashboard_task_days_update after update on tasks
    for each row
    when (old.assignee_id is distinct from new.assignee_id
          or old.created_at is distinct from new.created_at
          or (old.status = 'done') is distinct from (new.status = 'done')
          or (old.status = 'cancelled') is distinct from (new.status = 'cancelled'))
    execute function dashboard_task_days_update();

-- The days and weeks counted again from the tasks there are; their keys' index carries the
-- cancelled count too (as it does assigned and done), so the counts are read from it alone.
delete from dashboard_task_weeks;
delete from dashboard_task_days;
alter table dashboard_task_days drop constraint dashboard_task_days_pkey,
    add primary key (assignee_id, day) include (assigned, done, cancelled);
alter table dashboard_task_weeks drop constraint dashboard_task_weeks_pkey,
    add primary key (assignee_id, week) include (assigned, done, cancelled);

with c as (
    select t.assignee_id, survey_day(t.created_at) as day,
           count(*) filter (where t.status <> 'cancelled')::int as assigned,
           count(*) filter (where t.status = 'done')::int as done,
           count(*) filter (where t.status = 'cancelled')::int as cancelled
      from tasks t
     group by 1, 2
),
days as (
    insert into dashboard_task_days (assignee_id, day, assigned, done, cancelled)
    select c.assignee_id, c.day, c.assigned, c.done, c.cancelled from c order by 1, 2
)
insert into dashboard_task_weeks (assignee_id, week, assigned, done, cancelled)
select c.assignee_id, dashboard_week(c.day), sum(c.assigned), sum(c.done), sum(c.cancelled)
  from c
 group by 1, 2
 order by 1, 2;
