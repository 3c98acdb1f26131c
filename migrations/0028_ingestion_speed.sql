-- The beacon worker stores thousands of hits a second, so per-hit work counts. Measured with
-- bench/tracking.py (and EXPLAIN ANALYZE of a batch): the order of share_hits' key, and a per-row
-- foreign-key trigger on share_visitors whose answer never changes within a batch.

-- share_hits' key in the order hits arrive: (received_at, event_id) instead of (event_id,
-- received_at). The same columns, so the same rule (a beacon is stored once: its event id with
-- the moment its stream entry was made), but a random uuid first sent every stored hit to a
-- random page of the key's index (a page read, often split, and written whole to the WAL after
-- each checkpoint); by time first, a batch's hits go to the index's right edge, next to each
-- other. COPY of a batch of 5,000 hits into a month of 1,500,000: ~7.4 us a hit against ~12.5.
-- Nothing looks a hit up by its event id alone. Every partition's key index is rebuilt here.
alter table share_hits drop constraint share_hits_pkey;
alter table share_hits add primary key (received_at, event_id);

-- A visitor row's share is checked once per statement (a batch's ~700 new visitor rows share
-- ~200 shares) instead of once per row: the per-row check took ~9 us a row (a third of the
-- rollup statement) and a KEY SHARE lock on the share's row each time, which two workers
-- storing visitors of one share turned into multixacts.
alter table share_visitors drop constraint share_visitors_share_id_fkey;

create function check_share_visitors_shares() returns trigger
language plpgsql as $$
declare
    missing uuid;
begin
    select n.share_id into missing
      from (select distinct share_id from new_rows) n
     where not exists (select from shares s where s.id = n.share_id)
     limit 1;
    if found then
        raise exception 'a visitor row refers to a missing share %', missing
            using errcode = 'foreign_key_violation';
    end if;
    return null;
end $$;

create trigger share_visitors_shares_exist after insert on share_visitors
    referencing new table as new_rows
    for each statement execute function check_share_visitors_shares();

-- What else the constraint kept: neither side's key changes (neither is ever updated; these
-- fire only on an update that sets the column) ...
create function refuse_key_change() returns trigger
language plpgsql as $$
begin
    if to_jsonb(new) -> tg_argv[0] is distinct from to_jsonb(old) -> tg_argv[0] then
        raise exception '%.% never changes', tg_table_name, tg_argv[0]
            using errcode = 'restrict_violation';
    end if;
    return new;
end $$;

create trigger share_visitors_share_fixed before update of share_id on share_visitors
    for each row execute function refuse_key_change('share_id');
create trigger shares_id_fixed before update of id on shares
    for each row execute function refuse_key_change('id');

-- ... and a share with visitor rows is not deleted.
create function check_deleted_shares_unvisited() returns trigger
language plpgsql as $$
declare
    kept uuid;
begin
    select v.share_id into kept
      from share_visitors v
     where v.share_id in (select id from old_rows)
     limit 1;
    if found then
        raise exception 'share % still has visitor rows', kept
            using errcode = 'foreign_key_violation';
    end if;
    return null;
end $$;

create trigger shares_deleted_unvisited after delete on shares
    referencing old table as old_rows
    for each statement execute function check_deleted_shares_unvisited();
