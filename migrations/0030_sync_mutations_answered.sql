-- Offline mutations: which ids of a client were answered, not only the last one.
--
-- A push answered `duplicate` for every id at or below the client's last id. A mutation that
-- reached the server after a later one of the same client (two pushes of one app in flight at
-- once, the later batch first; an app that sent its queue out of order) was answered
-- `duplicate` without ever running: the app dropped it as done, and what the RM had done
-- offline was lost. Each client now keeps the ids it was answered for (applied, rejected or
-- conflict), as ranges: ids come one after another, so a client's set is one range, or a few
-- where ids were skipped. Only those are duplicates; a late id runs when it arrives, under the
-- same rules as any mutation made offline (the server's state wins).
alter table sync_clients add column answered int8multirange not null default '{}';

-- Clients that pushed before: every id up to their last was answered, as far as can be known.
update sync_clients set answered = int8multirange(int8range(1, last_mutation_id + 1))
 where last_mutation_id > 0;
