-- Ids of the users in an org unit's subtree: what a branch head's scope covers when a table
-- is keyed by owner or assignee. Used in FROM, so PostgreSQL inlines it like org_subtree.
create function subtree_users(root uuid) returns setof uuid
language sql stable parallel safe as $$
    select u.id from users u
     where u.org_unit_id = any(array(select s.id from org_subtree(root) s(id)))
$$;
