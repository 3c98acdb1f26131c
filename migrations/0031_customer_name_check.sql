-- A customer's name as stored, as a keyed hash (HMAC, like the blind indexes): the feed's
-- "would this row change?" compared the search indexes, which fold case, so a correction of the
-- case alone ("zhang wei" -> "Zhang Wei") was counted unchanged and never stored. Null: not
-- known yet (rows written before this column); such a row gets it at its next change.
alter table customers add column name_check bytea;
