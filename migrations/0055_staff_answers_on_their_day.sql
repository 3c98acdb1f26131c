-- A staff answer counts on its own day, not its invitation's. The rollups kept every answer on
-- the day its invitation was sent (and the term index said that day for each answer): for a
-- round sent to one person that day, the row "score 3 on day D in unit U", or the answer found
-- by a word, was that person's, though the answer itself (0054) no longer names its invitation.
-- From now on a staff answer counts on its bank day (`survey_day(submitted_at)`, which tells
-- nothing `submitted_at` does not); customer answers still count on their invitation's day (a
-- period covers the invitations sent in it). Staff results always cover the survey's whole life,
-- so the figures they show are the same.
--
-- Here the staff rows stored before are moved to their answers' days. The responses no longer
-- name their invitations, so the staff surveys' answer counts are rebuilt from the responses
-- themselves (delivered counts stay on their invitations' days: they tell no answer):
--   - responded, per unit (with every unit above it, as its path reads now) and answer day;
--   - each question's values as `tallies.counts` takes them from the version's questions;
--   - a text question answered: the answer stores its text encrypted, so it counts where the
--     term index shows a word of it, or where the text is the only text question of its
--     version; what the counts held beyond that (texts of stop words only, when a version has
--     several text questions) stays counted, on the last day such a text may have come;
--   - the words of text answers from the term index (one row per answer and word).
-- Customer surveys' rows are untouched.

lock table survey_responses in share mode;  -- no answer counted meanwhile

update survey_term_answers a
   set day = survey_day(r.submitted_at)
  from survey_responses r
 where r.id = a.response_id and r.customer_id is null
   and a.day is distinct from survey_day(r.submitted_at);

create temporary table staff_counted on commit drop as
select r.id, r.survey_id, r.version, r.answers, r.texts_enc is not null as has_texts,
       survey_day(r.submitted_at) as day,
       coalesce(survey_unit_and_above(r.org_unit_id), array[r.org_unit_id]) as units
  from survey_responses r
  join surveys s on s.id = r.survey_id and s.audience = 'staff'
 where r.customer_id is null and r.tallied_at is not null;

create temporary table staff_questions on commit drop as
select v.survey_id, v.version, q.question ->> 'key' as key, q.question ->> 'type' as type,
       count(*) filter (where q.question ->> 'type' = 'text')
           over (partition by v.survey_id, v.version) as text_questions
  from survey_versions v
  join surveys s on s.id = v.survey_id and s.audience = 'staff'
 cross join jsonb_array_elements(case when jsonb_typeof(v.questions) = 'array'
                                      then v.questions else '[]'::jsonb end) as q (question);

-- (response, question, value) as `tallies.counts` makes them: '' for a question answered.
create temporary table staff_values on commit drop as
select distinct c.id, q.key as question_key, x.value
  from staff_counted c
  join staff_questions q on q.survey_id = c.survey_id and q.version = c.version
 cross join lateral (
        select '' as value
         where q.type <> 'text'
           and (c.answers -> q.key) not in ('null'::jsonb, '[]'::jsonb, '""'::jsonb)
        union all
        select e.value #>> '{}'
          from jsonb_array_elements(case when jsonb_typeof(c.answers -> q.key) = 'array'
                                         then c.answers -> q.key
                                         else jsonb_build_array(c.answers -> q.key) end)
               as e (value)
         where q.type <> 'text'
           and (c.answers -> q.key) not in ('null'::jsonb, '[]'::jsonb, '""'::jsonb)
        union all
        select ''
         where q.type = 'text'
           and ((c.has_texts and q.text_questions = 1)
                or exists (select from survey_term_answers a
                            where a.response_id = c.id and a.question_key = q.key))
       ) as x;

-- What the counts held of questions answered, to keep the texts the above cannot see.
create temporary table staff_answered_before on commit drop as
select t.survey_id, t.org_unit_id, t.question_key, sum(t.count) as count
  from survey_value_tallies t
  join surveys s on s.id = t.survey_id and s.audience = 'staff'
 where t.value = ''
 group by 1, 2, 3;

delete from survey_value_tallies t using surveys s
 where s.id = t.survey_id and s.audience = 'staff';
delete from survey_term_tallies t using surveys s
 where s.id = t.survey_id and s.audience = 'staff';
delete from survey_tallies t using surveys s
 where s.id = t.survey_id and s.audience = 'staff' and t.delivered = 0;
update survey_tallies t set responded = 0
  from surveys s
 where s.id = t.survey_id and s.audience = 'staff' and t.responded <> 0;

insert into survey_tallies (survey_id, org_unit_id, day, responded)
select c.survey_id, u.unit, c.day, count(*)
  from staff_counted c
 cross join unnest(c.units) as u (unit)
 group by 1, 2, 3
 order by 1, 2, 3
    on conflict (survey_id, org_unit_id, day) do update set responded = excluded.responded;

insert into survey_value_tallies (survey_id, org_unit_id, day, question_key, value, count)
select c.survey_id, u.unit, c.day, v.question_key, v.value, count(*)
  from staff_values v
  join staff_counted c on c.id = v.id
 cross join unnest(c.units) as u (unit)
 group by 1, 2, 3, 4, 5;

with rebuilt as (
    select t.survey_id, t.org_unit_id, t.question_key, sum(t.count) as count
      from survey_value_tallies t
      join surveys s on s.id = t.survey_id and s.audience = 'staff'
     where t.value = ''
     group by 1, 2, 3
),
unseen as (
    select b.survey_id, b.org_unit_id, b.question_key, b.count - coalesce(r.count, 0) as count,
           (select max(c.day)
              from staff_counted c
              join staff_questions q on q.survey_id = c.survey_id and q.version = c.version
             where c.survey_id = b.survey_id and c.has_texts and b.org_unit_id = any(c.units)
               and q.key = b.question_key and q.type = 'text') as day
      from staff_answered_before b
      left join rebuilt r using (survey_id, org_unit_id, question_key)
     where b.count > coalesce(r.count, 0)
)
insert into survey_value_tallies (survey_id, org_unit_id, day, question_key, value, count)
select u.survey_id, u.org_unit_id, u.day, u.question_key, '', u.count
  from unseen u
 where u.day is not null
    on conflict (survey_id, org_unit_id, day, question_key, value)
    do update set count = survey_value_tallies.count + excluded.count;

insert into survey_term_tallies (survey_id, org_unit_id, day, question_key, term, count)
select c.survey_id, u.unit, c.day, a.question_key, a.term, count(*)
  from survey_term_answers a
  join staff_counted c on c.id = a.response_id
 cross join unnest(c.units) as u (unit)
 group by 1, 2, 3, 4, 5;

drop table staff_counted, staff_questions, staff_values, staff_answered_before;
