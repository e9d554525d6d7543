-- pcapdiag flow records in DuckDB: one row per {"type":"flow"} line of `pcapdiag -f ndjson`.
-- Load:  pcapdiag -f ndjson capture.pcap | grep '"type":"flow"' > flows.ndjson
--        duckdb pcapdiag.db < schema/stores/duckdb.sql
--        duckdb pcapdiag.db "INSERT INTO pcapdiag_records BY NAME SELECT * FROM read_json_auto('flows.ndjson')"
-- or, schema-free: SELECT verdict, count(*) FROM read_json_auto('flows.ndjson') GROUP BY ALL;
-- Nested objects (facts, tls, http, echo) are JSON: query them with ->> and json_extract.
CREATE TABLE IF NOT EXISTS pcapdiag_records (
    type        VARCHAR,
    file        VARCHAR,
    id          UBIGINT,
    key         VARCHAR,
    wireshark   VARCHAR,
    proto       VARCHAR,
    client      VARCHAR,
    server      VARCHAR,
    verdict     VARCHAR,
    by          VARCHAR,
    start       TIMESTAMP_NS,
    t           DOUBLE,
    duration    DOUBLE,
    summary     VARCHAR,
    evidence    VARCHAR[],
    "check"     VARCHAR,
    facts       JSON,
    frame       UBIGINT,
    firstFrame  UBIGINT,
    packets     UBIGINT,
    mac         VARCHAR,
    vendor      VARCHAR,
    state       VARCHAR,
    history     VARCHAR,
    query       VARCHAR,
    qtype       VARCHAR,
    rcode       VARCHAR,
    transport   VARCHAR,
    answers     VARCHAR[],
    attempt     UINTEGER,
    opcode      VARCHAR,
    tls         JSON,
    http        JSON,
    responseMs  DOUBLE,
    ttfbMs      DOUBLE,
    vantages    JSON,
    related     JSON,
    echo        JSON,
    clientName  VARCHAR,
    serverName  VARCHAR
);
