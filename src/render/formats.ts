/**
 * Output formats: the human report, one JSON document, JSON lines streamed as verdicts are
 * decided, or JUnit XML for CI systems. Each has a renderer in the registry (render/index.ts).
 */
export const FORMATS = ['text', 'json', 'ndjson', 'junit'] as const;
export type Format = (typeof FORMATS)[number];
