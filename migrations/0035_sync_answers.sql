-- What a push answered for each mutation, so that a retried batch gets the same answer.
--
-- A retry of a batch whose answer was lost (a timeout, the app killed) answered `duplicate` for
-- every mutation it held, the ones rejected or in conflict too: the app took `duplicate` as
-- done and dropped what the RM had written (a note refused, a submit of a task that moved on),
-- never told why. Each answered mutation now keeps a digest of what it was (its name and
-- arguments) and, unless it was applied, its answer: a retry gets that answer again, and an id
-- sent again with other content (an app that reused its ids after a reinstall) is refused
-- rather than taken for done. Applied ones keep no answer (a retry is `duplicate`, as before:
-- what they did comes with the next pull). Kept for the sync retention (a daily job), like the
-- changes a pull reads.
create table sync_answers (
    user_id      uuid not null,
    client_id    text not null,
    mutation_id  bigint not null,
    digest       bytea not null check (octet_length(digest) = 16),
    answer       jsonb,
    answered_at  timestamptz not null default now(),
    primary key (user_id, client_id, mutation_id),
    foreign key (user_id, client_id) references sync_clients (user_id, client_id) on delete cascade
);
create index sync_answers_age on sync_answers (answered_at);
