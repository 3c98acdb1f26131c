-- The branch-head dashboard's rollups: tasks per assignee and bank day, and per assignee and
-- week, so that completion per RM, per team and per week reads RMs x weeks (and a few days at
-- the ends of a period) instead of every task of a year.
--
-- A task counts on the bank day it was created (`survey_day`, the bank's time zone as the survey
-- rollups read it) and in that day's week (Monday to Sunday, keyed by its Monday), for its
-- current assignee: `assigned` every task, `done` those whose status is done now. Triggers keep
-- both exact as tasks are inserted, change status (to done or back), move to another assignee
-- or another creation time, and are deleted; the migration counts the tasks already there.
-- Counts are signed deltas added by one statement, days first, each table's rows in key order,
-- so that concurrent writers lock shared rows in the same order.

-- The Monday of a day's week (1900-01-01 was a Monday).
create function dashboard_week(day date) returns date
language sql immutable parallel safe as $$
    select date '1900-01-01' + (day - date '1900-01-01') / 7 * 7
$$;

create table dashboard_task_days (
    assignee_id  uuid not null,
    day          date not null,
    assigned     int not null default 0,
    done         int not null default 0,
    primary key (assignee_id, day) include (assigned, done)
);

create table dashboard_task_weeks (
    assignee_id  uuid not null,
    week         date not null,               -- its Monday
    assigned     int not null default 0,
    done         int not null default 0,
    primary key (assignee_id, week) include (assigned, done)
);

create function dashboard_task_days_insert() returns trigger
language plpgsql as $$
begin
    with c as (
        select d.assignee_id, d.day, sum(d.assigned)::int as assigned, sum(d.done)::int as done
          from (select n.assignee_id, survey_day(n.created_at) as day, 1 as assigned,
                       (n.status = 'done')::int as done
                  from new_rows n) d
         group by 1, 2
        having sum(d.assigned) <> 0 or sum(d.done) <> 0
    ),
    days as (
        insert into dashboard_task_days as t (assignee_id, day, assigned, done)
        select c.assignee_id, c.day, c.assigned, c.done from c order by 1, 2
            on conflict (assignee_id, day)
            do update set assigned = t.assigned + excluded.assigned, done = t.done + excluded.done
    )
    insert into dashboard_task_weeks as t (assignee_id, week, assigned, done)
    select c.assignee_id, dashboard_week(c.day), sum(c.assigned), sum(c.done)
      from c
     group by 1, 2
     order by 1, 2
        on conflict (assignee_id, week)
        do update set assigned = t.assigned + excluded.assigned, done = t.done + excluded.done;
    return null;
end $$;

create function dashboard_task_days_delete() returns trigger
language plpgsql as $$
begin
    with c as (
        select d.assignee_id, d.day, sum(d.assigned)::int as assigned, sum(d.done)::int as done
          from (select o.assignee_id, survey_day(o.created_at) as day, -1 as assigned,
                       -(o.status = 'done')::int as done
                  from old_rows o) d
         group by 1, 2
        having sum(d.assigned) <> 0 or sum(d.done) <> 0
    ),
    days as (
        insert into dashboard_task_days as t (assignee_id, day, assigned, done)
        select c.assignee_id, c.day, c.assigned, c.done from c order by 1, 2
            on conflict (assignee_id, day)
            do update set assigned = t.assigned + excluded.assigned, done = t.done + excluded.done
    )
    insert into dashboard_task_weeks as t (assignee_id, week, assigned, done)
    select c.assignee_id, dashboard_week(c.day), sum(c.assigned), sum(c.done)
      from c
     group by 1, 2
     order by 1, 2
        on conflict (assignee_id, week)
        do update set assigned = t.assigned + excluded.assigned, done = t.done + excluded.done;
    return null;
end $$;

-- One task changed what it counts for: out of its old (assignee, day, done), into its new one.
create function dashboard_task_days_update() returns trigger
language plpgsql as $$
begin
    with c as (
        select d.assignee_id, d.day, sum(d.assigned)::int as assigned, sum(d.done)::int as done
          from (values (old.assignee_id, survey_day(old.created_at), -1,
                        -(old.status = 'done')::int),
                       (new.assignee_id, survey_day(new.created_at), 1,
                        (new.status = 'done')::int)) as d (assignee_id, day, assigned, done)
         group by 1, 2
        having sum(d.assigned) <> 0 or sum(d.done) <> 0
    ),
    days as (
        insert into dashboard_task_days as t (assignee_id, day, assigned, done)
        select c.assignee_id, c.day, c.assigned, c.done from c order by 1, 2
            on conflict (assignee_id, day)
            do update set assigned = t.assigned + excluded.assigned, done = t.done + excluded.done
    )
    insert into dashboard_task_weeks as t (assignee_id, week, assigned, done)
    select c.assignee_id, dashboard_week(c.day), sum(c.assigned), sum(c.done)
      from c
     group by 1, 2
     order by 1, 2
        on conflict (assignee_id, week)
        do update set assigned = t.assigned + excluded.assigned, done = t.done + excluded.done;
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

-- The tasks already there.
with c as (
    select d.assignee_id, d.day, sum(d.assigned)::int as assigned, sum(d.done)::int as done
      from (select t.assignee_id, survey_day(t.created_at) as day, 1 as assigned,
                   (t.status = 'done')::int as done
              from tasks t) d
     group by 1, 2
    having sum(d.assigned) <> 0 or sum(d.done) <> 0
),
days as (
    insert into dashboard_task_days as t (assignee_id, day, assigned, done)
    select c.assignee_id, c.day, c.assigned, c.done from c order by 1, 2
        on conflict (assignee_id, day)
        do update set assigned = t.assigned + excluded.assigned, done = t.done + excluded.done
)
insert into dashboard_task_weeks as t (assignee_id, week, assigned, done)
select c.assignee_id, dashboard_week(c.day), sum(c.assigned), sum(c.done)
  from c
 group by 1, 2
 order by 1, 2
    on conflict (assignee_id, week)
    do update set assigned = t.assigned + excluded.assigned, done = t.done + excluded.done;

-- The latest low scores of a subtree: responses by unit, newest first.
create index survey_responses_unit on survey_responses (org_unit_id, submitted_at desc);
-- Open work orders of a subtree now (counts, and the list by due time).
create index work_orders_open_unit on work_orders (org_unit_id, due_at)
    where state in ('open', 'in_progress');
