-- minicrm: no transaction
-- Reads at scale (measured by `bin/bench --reads`): each list is read in its order by an index
-- instead of sorting its matches, and a page after a cursor starts inside that index. Built
-- concurrently, so a live database keeps taking writes meanwhile; each is dropped first in
-- case an earlier attempt failed part-way and left it invalid.
--
-- A campaign's log by status, in the listing's order (status filters and pending look-ups).
DROP INDEX CONCURRENTLY IF EXISTS communication_log_campaign_status;
CREATE INDEX CONCURRENTLY communication_log_campaign_status ON communication_log (campaign_id, status, created_at, id);
-- The whole log in order: the unfiltered listing, and a campaign's (its rows follow its start).
DROP INDEX CONCURRENTLY IF EXISTS communication_log_created;
CREATE INDEX CONCURRENTLY communication_log_created ON communication_log (created_at, id);
-- Test sends, which no counter counts: a campaign's counters plus these are its log's totals.
DROP INDEX CONCURRENTLY IF EXISTS communication_log_tests;
CREATE INDEX CONCURRENTLY communication_log_tests ON communication_log (campaign_id, status) WHERE test;
-- Customers and orders in their listings' orders (also a preview's sample: the first matches).
DROP INDEX CONCURRENTLY IF EXISTS customers_created;
CREATE INDEX CONCURRENTLY customers_created ON customers (created_at, id);
DROP INDEX CONCURRENTLY IF EXISTS orders_customer_date;
CREATE INDEX CONCURRENTLY orders_customer_date ON orders (customer_id, order_date, id);
DROP INDEX CONCURRENTLY IF EXISTS orders_date;
CREATE INDEX CONCURRENTLY orders_date ON orders (order_date, id);
DROP INDEX CONCURRENTLY IF EXISTS orders_customer;
