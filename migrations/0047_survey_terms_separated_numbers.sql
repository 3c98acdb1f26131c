-- A number typed with other separators between its groups (a no-break or thin space, an en or
-- em dash, a minus, an underscore, a comma, a slash) or with a zero-width character inside it is
-- masked wherever staff read the answer now (mask_long_numbers: six digits or more, whatever is
-- between them), so it is no term of the answer either (workbench.surveys.terms): 0044 left the
-- terms holding one ("wxid_abc138_1234_5678"), which told the number to every reader of the
-- results. They are deleted here by the pattern the code now drops them by
-- (terms.LONG_NUMBER_TERM, which also holds 0044's: a term is NFKC-normalised and lower-cased,
-- its digits ASCII; PostgreSQL reads its \uXXXX escapes as Python does); keep the two the same.
-- The counts of the answers' other words are unchanged.
delete from survey_term_answers where term ~ '[0-9](?:[\t\n\v\f\r\u001c-\u001f \u0085\u1680\u2028\u2029\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u2010-\u2015\u2212\u00b7\u3001\u30fb.,/_*x-]*[0-9]){5,}|[0-9][0-9x* .-]{4,}[0-9x]';
delete from survey_term_tallies where term ~ '[0-9](?:[\t\n\v\f\r\u001c-\u001f \u0085\u1680\u2028\u2029\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u2010-\u2015\u2212\u00b7\u3001\u30fb.,/_*x-]*[0-9]){5,}|[0-9][0-9x* .-]{4,}[0-9x]';
