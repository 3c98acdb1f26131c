-- Staff answer anonymously, in the database too: a staff survey's response keeps nothing that
-- leads back to who gave it. It had the respondent's user id, its invitation's id (an invitation
-- is one person's) and the exact moment it came (which the invitation's `responded_at` held
-- too). Now a response without a customer (a staff answer) keeps:
--   - no user id and no invitation id (the check below holds every row to it);
--   - the bank's day it came only (`submitted_at` is that day's midnight, bank time, as the
--     results show it; `tallied_at` likewise), and the unit of the invitation (its person's at
--     sending), which results need and which names no one in a group of 5;
--   - an id that is random (uuid4), not a uuid7 (a uuid7 tells the millisecond it was made).
-- A staff invitation says that it was answered and not when: its `responded_at` is set to its
-- own `sent_at` in the answer's transaction. The invitation stays the one place that knows
-- who answered (so nobody answers twice, the inbox and the app's sync drop it); the response
-- the one that knows what; no column joins them. Customer responses are not anonymous and keep
-- their customer, invitation and time.

-- The midnight (bank time zone) that starts the bank's day of a moment (`survey_day`).
create function survey_day_start(at timestamptz) returns timestamptz
language sql stable parallel safe as $$
    select survey_day(at)::timestamp
           at time zone coalesce(nullif(current_setting('workbench.bank_timezone', true), ''),
                                 'Asia/Shanghai')
$$;

alter table survey_responses alter column invitation_id drop not null;

-- The staff answers stored before: unlinked as new ones are. (Their ids stay: their text
-- answers are encrypted with the id as associated data. The time such an id tells matches
-- nothing per person any more once the invitations' `responded_at` below is scrubbed.)
update survey_term_answers a
   set submitted_at = survey_day_start(a.submitted_at)
  from survey_responses r
 where r.id = a.response_id and r.customer_id is null;

update survey_responses
   set user_id = null,
       invitation_id = null,
       submitted_at = survey_day_start(submitted_at),
       tallied_at = survey_day_start(tallied_at)
 where customer_id is null;

update survey_invitations
   set responded_at = sent_at
 where user_id is not null and responded_at is not null;

alter table survey_responses add constraint survey_responses_staff_unlinked
    check (case when customer_id is null then user_id is null and invitation_id is null
                else invitation_id is not null end);
