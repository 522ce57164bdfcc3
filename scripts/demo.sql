-- What `make demo` runs in the demo database. Safe to run again.
\set QUIET on
SET client_min_messages = warning;
-- Install, or bring an older installed version up to date.
CREATE EXTENSION IF NOT EXISTS c360;
ALTER EXTENSION c360 UPDATE;
\set QUIET off
\echo
\echo '== c360 installed'
SELECT e.extversion AS extension_version, c360.version() AS library_version, n.nspname AS schema
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'c360';

\echo '== objects of the extension'
SELECT obj.type, count(*) AS objects,
       string_agg(regexp_replace(obj.identity, '^c360\.', ''), ', ' ORDER BY obj.identity) AS names
FROM pg_depend d
JOIN pg_extension e ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid
CROSS JOIN LATERAL pg_identify_object(d.classid, d.objid, 0) AS obj(type, schema, name, identity)
WHERE e.extname = 'c360' AND d.deptype = 'e'
GROUP BY obj.type
ORDER BY obj.type;
