-- Survey results, kept as invitations are sent and answers arrive, so that results read small
-- rollups by survey, org unit and day instead of scanning responses.
--
-- Every count is keyed by the day its INVITATION was sent (the bank's day) and the invitation's
-- org unit: a period picks the invitations sent in it, with their answers whenever they came.
-- So no period shows more responses than invitations, nor more answers than responses.
--
-- Each count is kept for the invitation's unit AND every unit above it (team, sub-branch,
-- branch, head office: the ids in its `path`), so the results of any subtree read the rows of
-- its root alone: days x values, whatever the size of the subtree. (Counts stay with the units
-- above the invitation's unit when it was counted, should a unit later move in the tree.)

-- The bank's day of a moment. The bank's time zone is Asia/Shanghai unless the database sets
-- another (`alter database ... set workbench.bank_timezone = '...'`, matching
-- WORKBENCH_BANK_TIMEZONE), read once per statement.
create function survey_day(at timestamptz) returns date
language sql stable parallel safe as $$
    select (at at time zone coalesce(nullif(current_setting('workbench.bank_timezone', true), ''),
                                     'Asia/Shanghai'))::date
$$;

-- Invitations sent and answered, per survey, unit (with its subtree) and day. The keys include
-- the counts, so that results read the index alone (where pages are all-visible).
create table survey_tallies (
    survey_id    uuid not null,
    org_unit_id  uuid not null,
    day          date not null,
    delivered    int not null default 0 check (delivered >= 0),
    responded    int not null default 0 check (responded >= 0),
    primary key (survey_id, org_unit_id, day) include (delivered, responded)
);

-- Answers per question and value, per survey, unit and day. `value` is the answer as stored
-- (an option's value, or the score's digits; each option of a multi answer counts once); the
-- empty value '' counts the responses that answered the question at all (option values and
-- scores are never empty), text questions included.
create table survey_value_tallies (
    survey_id     uuid not null,
    question_key  text not null,
    value         text not null,
    org_unit_id   uuid not null,
    day           date not null,
    count         int not null check (count >= 0),
    primary key (survey_id, org_unit_id, day, question_key, value) include (count)
);

-- The words of text answers (segmented, stop words out), each counted once per answer.
create table survey_term_tallies (
    survey_id     uuid not null,
    question_key  text not null,
    term          text not null,
    org_unit_id   uuid not null,
    day           date not null,
    count         int not null check (count >= 0),
    primary key (survey_id, org_unit_id, day, question_key, term) include (count)
);

-- Which answers contain a term: the console's "answers with this word" list, newest first.
-- One row per answer (the invitation's own unit; a scope reads its subtree).
create table survey_term_answers (
    survey_id     uuid not null,
    term          text not null,
    question_key  text not null,
    response_id   uuid not null references survey_responses (id),
    day           date not null,            -- the invitation's day, as in the tallies
    org_unit_id   uuid not null,
    submitted_at  timestamptz not null,
    primary key (survey_id, term, question_key, response_id)
);
create index survey_term_answers_list
    on survey_term_answers (survey_id, term, submitted_at desc, response_id desc);

-- A response is counted once: `on_response` claims it by setting this, and only then counts.
alter table survey_responses add column tallied_at timestamptz;

-- A unit and every unit above it: the ids in its materialized path.
create function survey_unit_and_above(unit uuid) returns uuid[]
language sql stable parallel safe as $$
    select string_to_array(trim(both '/' from u.path), '/')::uuid[]
      from org_units u where u.id = unit
$$;

create function survey_invitations_tally() returns trigger
language plpgsql as $$
begin
    insert into survey_tallies (survey_id, org_unit_id, day, delivered)
    select n.survey_id, a.unit, survey_day(n.sent_at), count(*)
      from new_rows n
      join org_units u on u.id = n.org_unit_id
     cross join unnest(string_to_array(trim(both '/' from u.path), '/')::uuid[]) as a (unit)
     group by 1, 2, 3
     order by 1, 2, 3
        on conflict (survey_id, org_unit_id, day)
        do update set delivered = survey_tallies.delivered + excluded.delivered;
    return null;
end $$;

create trigger survey_invitations_tally after insert on survey_invitations
    referencing new table as new_rows for each statement execute function survey_invitations_tally();
