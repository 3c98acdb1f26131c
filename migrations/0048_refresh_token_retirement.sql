-- Refresh retries (workbench/identity/service.py, refresh). A retry retires the tokens whose
-- answers the app never received: `retired_at` marks them, and presenting one is a reuse, never
-- a rotation or a retry (they were marked used at the retry's time, so they passed for a retry
-- themselves, again and again).
--
-- A session numbers its rotations under its row lock (`rotations`) and a token keeps the number
-- of its latest rotation (`rotation`): the session's last rotated token is the one holding the
-- session's number, whichever order the rotating transactions began in. Comparing `used_at`
-- (each transaction's start time) could rank a later rotation before an earlier one, and a few
-- refreshes of one token at once then ended the session as a reuse.
--
-- Tokens rotated before this migration have no number: presenting one again is a reuse, as it
-- was before retries were allowed (for at most the retry window after the deployment).
alter table sessions add column rotations integer not null default 0;
alter table refresh_tokens add column rotation integer, add column retired_at timestamptz;
