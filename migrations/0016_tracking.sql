-- The console's page of filtered hits reads the bot-labelled hits of the last day, week or month
-- by time: a partial index keeps that a short range scan (bots are a small share of all hits)
-- instead of reading every hit of the period. Made on every partition, present and future.
create index share_hits_bots on share_hits (received_at) where verdict = 'bot';
