import type { RunReport } from '../run-report.js';
import { escapeJson } from './escape.js';
import type { RendererFactory } from './renderer.js';

/** `--format json`: one document with every capture's facts, all records and the totals. */
export function renderJson(r: RunReport): string {
  return escapeJson(JSON.stringify(r, null, 2)) + '\n';
}

export const jsonRenderer: RendererFactory = (out) => ({
  feed: () => ({ keep: 'all', onRecord: null, problemsOnly: false }),
  onFile: () => {},
  onEnd: (run) => out.write(renderJson(run)),
  showsWarnings: false,
});
