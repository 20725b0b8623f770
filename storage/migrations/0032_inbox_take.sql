-- PostgreSQL only (its twin defines fieldbot_inbox_take, a function: a webhook process
-- records an update already claimed by itself). SQLite's webhook processes record
-- updates 'new' and claim them as before: its write transactions are one at a time
-- anyway. Nothing changes in the schema; the file keeps the numbers of both in step.
SELECT 1;
