-- A number of six characters or more typed into a text answer (a phone, an ID, passport or
-- account number, a chat id) is masked wherever staff read the answer, so it is no term of the
-- answer either (workbench.surveys.terms): shown, searched and stored in clear, it told the
-- number to every reader of the results, and key rotation never covered it. The terms counted
-- before are deleted here by the pattern the code now drops them by (terms.LONG_NUMBER_TERM:
-- a term is NFKC-normalised and lower-cased, its digits ASCII); keep the two the same.
-- The counts of the answers' other words are unchanged.
delete from survey_term_answers where term ~ '[0-9][0-9x* .-]{4,}[0-9x]';
delete from survey_term_tallies where term ~ '[0-9][0-9x* .-]{4,}[0-9x]';
