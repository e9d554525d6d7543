/**
 * Output formats: the human report, one JSON document, JSON lines streamed as verdicts are
 * decided, JUnit XML for CI systems, or one self-contained HTML page. Each has a renderer in the registry (render/index.ts).
 */
export const FORMATS = ['text', 'json', 'ndjson', 'junit', 'html'] as const;
export type Format = (typeof FORMATS)[number];
