-- A task's answers are personal data, stored only encrypted from now on.
--
-- An RM types a customer's new phone or ID number into a task's text field, and a location field
-- says where the customer was met: `tasks.form_values` held every answer in clear, so a database
-- dump held them too. A submission's answers are now one AES-256-GCM value, the JSON object by
-- field key, bound to its task (associated data `task.form_values:<task id>`), in
-- `form_values_enc` (`workbench.tasks.form_values`); `workbench rotate-keys` re-encrypts them
-- ("task forms"). Nothing reads an answer in SQL (event rules match the events' data, the
-- dashboard and exports count tasks, the intimacy score asks whether the form has a location
-- field), so no answer is kept in clear, not even a number or a choice.
--
-- SQL cannot encrypt: the answers already stored stay in `form_values` until the worker seals
-- them (`workbench.tasks.jobs.seal_form_values`, run with the task expiry job at every worker's
-- start and every minute after: a batch of 500 tasks per transaction, in id order, rows others
-- hold left for the next run, for up to 20 seconds a run). Until then they are read as they
-- are, masked as sealed ones are. The index below holds exactly the tasks still in clear: the
-- sealing walks it, and once it is empty a run costs one look at it. `form_values` is written
-- by nothing else any more (a later migration may drop it once it is empty everywhere).

alter table tasks add column form_values_enc bytea;  -- the answers, encrypted

create index tasks_form_values_in_clear on tasks (id) where form_values is not null;

-- Sealing a task's answers (clear to ciphertext) and re-encrypting them under a new key change
-- no answer: the task reads the same, so neither is a change for the apps to pull (as a
-- customer re-encrypted by rotate-keys is not). Every other update records the task, as
-- before, an update that rewrites a row as it was included. The app writes answers only with a
-- status change (a submit), so a change of answers is always recorded.
create or replace function sync_tasks() returns trigger
language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        insert into sync_log (user_id, entity, entity_key)
        select n.assignee_id, 'task', n.id::text from new_rows n;
    elsif tg_op = 'UPDATE' then
        execute $sql$
        insert into sync_log (user_id, entity, entity_key)
        select distinct u, 'task', n.id::text
          from new_rows n join old_rows o on o.id = n.id,
               unnest(array[o.assignee_id, n.assignee_id]) u
         where (n.form_values, n.form_values_enc)
               is not distinct from (o.form_values, o.form_values_enc)
            or to_jsonb(n) - '{form_values,form_values_enc}'::text[]
               is distinct from to_jsonb(o) - '{form_values,form_values_enc}'::text[]
        $sql$;
    else
        insert into sync_log (user_id, entity, entity_key)
        select o.assignee_id, 'task', o.id::text from old_rows o;
    end if;
    return null;
end $$;
