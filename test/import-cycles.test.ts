import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ROOT } from './helpers/run.js';

const SRC = join(ROOT, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** Every relative module a source names: static imports and re-exports (type-only ones too) and dynamic import()s. */
function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bimport\s[^;'"]*?\bfrom\s*|\bexport\s[^;'"]*?\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.[^'"]+)['"]/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.push(resolve(dirname(file), m[1].replace(/\.js$/, '.ts')));
  return out;
}

/** A cycle in the graph, as a list of files from one back to itself, or null. */
function findCycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (n: string): string[] | null => {
    state.set(n, 1);
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 1) return [...stack.slice(stack.indexOf(m)), m];
      if (state.get(m) === undefined) {
        const c = visit(m);
        if (c !== null) return c;
      }
    }
    stack.pop();
    state.set(n, 2);
    return null;
  };
  for (const n of graph.keys()) {
    if (state.get(n) === undefined) {
      const c = visit(n);
      if (c !== null) return c;
    }
  }
  return null;
}

describe('module structure', () => {
  it('no import cycle under src/ (type-only imports included)', () => {
    const graph = new Map<string, string[]>();
    for (const f of sources(SRC))
      graph.set(
        f,
        importsOf(f, readFileSync(f, 'utf8')).filter((m) => m.startsWith(SRC)),
      );
    expect(graph.size).toBeGreaterThan(40);
    const cycle = findCycle(graph);
    expect(cycle?.map((f) => relative(SRC, f)).join(' → ') ?? null).toBe(null);
  });

  it('the cycle finder finds a cycle, and the import scanner sees every kind of import', () => {
    const text = `import { a } from './a.js';\nimport type { B } from "./b.js";\nexport { c } from './c.js';\nexport type { D } from './d.js';\nconst e = await import('./e.js');\nimport './f.js';\nimport {\n  g,\n} from './g.js';`;
    expect(importsOf('/x/m.ts', text)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((n) => `/x/${n}.ts`));
    expect(
      findCycle(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a']],
        ]),
      ),
    ).toEqual(['a', 'b', 'c', 'a']);
    expect(
      findCycle(
        new Map([
          ['a', ['b', 'c']],
          ['b', ['c']],
          ['c', []],
        ]),
      ),
    ).toBe(null);
  });
});
