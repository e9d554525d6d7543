import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';

/** What the HTML report's script draws from (see src/render/html.ts pageData). */
export interface PageData {
  files: string[];
  span: number;
  lanes: { label: string; flows: number; problems: number; dh: number[]; dp: number[] }[];
  rows: {
    id: number;
    f: number;
    v: string;
    c: string;
    s: string;
    n: string;
    sum: string;
    ev: string[];
    chk: string;
    fr: number;
    lad?: { steps: [number, string, string, string, string, number, number, string][]; box: string; checks: string[]; note: string };
  }[];
  healthyListed: boolean;
  healthyCount: number;
  problemsAggregated: number;
  laddersNote: string[];
}

/** The page's data, decoded as the page's script decodes it (base64, gzip, JSON). */
export function pageData(html: string): PageData {
  const m = /<script type="application\/gzip\+base64" id="data">([^<]*)<\/script>/.exec(html);
  if (m === null) throw new Error('no data script in the page');
  return JSON.parse(gunzipSync(Buffer.from(m[1], 'base64')).toString('utf8')) as PageData;
}

/** The page's inline scripts and styles with their SHA-256, as the CSP names them. */
export function inlineHashes(html: string): { scripts: string[]; styles: string[] } {
  const hash = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => hash(m[1]));
  const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => hash(m[1]));
  return { scripts, styles };
}
