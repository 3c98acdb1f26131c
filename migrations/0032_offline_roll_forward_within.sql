-- A roll-forward release (the files of a lower release signed again above a rolled-back one)
-- reaches only the users of the rolled-back release who were also in that lower release: the
-- releases listed here must each include a user too (by their own percentage, org units and
-- users, whatever their state), so nobody is moved onto files that were never released to them.
-- Empty for every release an admin makes.
alter table offline_releases
    add column within_release_ids uuid[] not null default '{}';
