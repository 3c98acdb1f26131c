-- A recurring dispatch can be ended: from `ended_at` on, the worker and a finished task open no
-- new period (the tasks already open stay). `scope_unit_id` is the org subtree a dispatch could
-- reach when it was made (the target unit, or the dispatcher's subtree for a customer list; null:
-- an admin's customer list, the whole bank): a branch head lists and ends the dispatches inside
-- their subtree.
alter table dispatches
    add column scope_unit_id uuid references org_units (id),
    add column ended_at timestamptz,
    add column ended_by uuid references users (id),
    add constraint dispatches_ended_together check ((ended_at is null) = (ended_by is null));

update dispatches d
   set scope_unit_id = coalesce(
           d.org_unit_id,
           (select u.org_unit_id from users u where u.id = d.created_by and u.role <> 'admin'));

-- Lists: newest first.
create index dispatches_newest on dispatches (created_at desc, id desc);
