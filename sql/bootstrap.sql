-- c360 bootstrap: runs before any generated object. The schema itself is
-- created by CREATE EXTENSION (c360.control: schema = c360).
COMMENT ON SCHEMA c360 IS 'c360 customer intelligence: typed retail tables, ingest, KPI views, RFM, clusters and CLV';
