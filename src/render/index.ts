import type { Report } from '../analyze.js';
import { renderText, type TextOptions } from './text.js';
import { renderJson, renderNdjson } from './json.js';

export const RENDERERS = {
  text: (r: Report, o: TextOptions) => renderText(r, o),
  json: (r: Report) => renderJson(r),
  ndjson: (r: Report) => renderNdjson(r),
} as const;

export type Format = keyof typeof RENDERERS;
