-- pcapdiag flow records in ClickHouse: one row per {"type":"flow"} line of `pcapdiag -f ndjson`.
-- Load (the summary/total/checks lines are other shapes: keep the flow lines only):
--   pcapdiag -f ndjson capture.pcap | grep '"type":"flow"' |
--     clickhouse-client --query "INSERT INTO pcapdiag_records SETTINGS input_format_json_read_objects_as_strings = 1, input_format_skip_unknown_fields = 1 FORMAT JSONEachRow"
-- Nested objects (facts, tls, http, echo) are kept as JSON text: query them with JSONExtract*.
CREATE TABLE IF NOT EXISTS pcapdiag_records
(
    type        LowCardinality(String),
    file        String,
    id          UInt64,
    key         String,
    wireshark   String,
    proto       LowCardinality(String),
    client      String,
    server      String,
    verdict     LowCardinality(String),
    by          LowCardinality(String),
    start       DateTime64(9, 'UTC'),
    t           Float64,
    duration    Float64,
    summary     String,
    evidence    Array(String),
    check       String,
    facts       String,
    frame       UInt64,
    firstFrame  UInt64,
    packets     UInt64,
    mac         String,
    vendor      String,
    macRole     LowCardinality(String),
    state       LowCardinality(String),
    history     String,
    query       String,
    qtype       LowCardinality(String),
    rcode       LowCardinality(String),
    transport   LowCardinality(String),
    answers     Array(String),
    attempt     UInt32,
    opcode      LowCardinality(String),
    tls         String,
    http        String,
    responseMs  Nullable(Float64),
    ttfbMs      Nullable(Float64),
    vantages    String,
    related     String,
    group       Nullable(UInt32),
    echo        String,
    clientName  String,
    serverName  String
)
ENGINE = MergeTree
ORDER BY (start, file, id);
