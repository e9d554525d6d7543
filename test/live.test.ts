import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, constants, mkdtempSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, FIXTURES, hasCommand, isFlow, last, ndjsonLines, readFixture } from './helpers/run.js';
import { FLAGS, pcap, tcpFrame } from './helpers/build.js';
import { widenPipe } from '../src/capture/source.js';

const tmp = mkdtempSync(join(tmpdir(), 'pcapdiag-live-'));

/** A running pcapdiag whose stdout and stderr are collected; `waitFor` resolves when a pattern shows. */
/**
 * Resolves once process `pid` has started and gone idle, waiting for input: its CPU time (all
 * threads, /proc/PID/stat) unchanged for 400 ms after it used some. A signal sent before pcapdiag
 * installs its handlers ends the process with no summary, and a fixed wait of 800 ms was not
 * always enough on a loaded machine.
 */
async function idleAfterStart(pid: number | undefined, ms = 15_000): Promise<void> {
  const cpu = (): number => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks
  };
  let last = -1;
  let still = 0;
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    let now: number;
    try {
      now = cpu();
    } catch {
      await new Promise((r) => setTimeout(r, 800)); // no /proc: a fixed wait
      return;
    }
    still = now === last && now >= 5 ? still + 1 : 0;
    if (still >= 4) return;
    last = now;
  }
}

function start(args: string[]) {
  const p = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters])
      if (w.re.test(out)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
  };
  p.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    check();
  });
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => p.on('exit', (code, signal) => r({ code, signal })));
  return {
    p,
    exited,
    out: () => out,
    err: () => err,
    /** Resolves once stdout matches `re`; rejects after `ms`. */
    waitFor(re: RegExp, ms: number): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${re} within ${ms} ms; stdout so far: ${out}`)), ms);
        waiters.push({
          re,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        check();
      });
    },
  };
}

const synCapture = (sport: number) => pcap([{ sec: 1700000000, frac: 0, data: tcpFrame('c2s', { sport, dport: 443, seq: 1000, flags: FLAGS.SYN }) }]);

describe('live input: verdicts while the capture goes on', () => {
  it('a SYN with no answer is reported as a timeout on the wall clock, before stdin closes', async () => {
    const run = start(['-', '--format', 'ndjson', '--syn-timeout', '0.5s']);
    run.p.stdin.write(synCapture(40000)); // header and one SYN; the pipe stays open
    const t0 = Date.now();
    await run.waitFor(/"verdict":"timeout"/, 10_000);
    const waited = Date.now() - t0;
    expect(run.p.exitCode).toBeNull(); // still running: the line came before the end of input
    expect(run.out()).toContain('10.0.2.20:443');
    run.p.stdin.end();
    const { code } = await run.exited;
    expect(code).toBe(0);
    expect(waited).toBeLessThan(10_000);
    const lines = ndjsonLines(run.out());
    expect(lines.map((l) => l.type)).toEqual(['flow', 'group', 'summary']); // reported once, then the summary
  }, 20_000);

  it('human output prints the problem as it is decided, and the summary at the end', async () => {
    const run = start(['-', '--syn-timeout', '0.5s']);
    run.p.stdin.write(synCapture(40001));
    await run.waitFor(/timeout\s+#1\s+TCP\s+10\.0\.1\.10:40001 → 10\.0\.2\.20:443/, 10_000);
    expect(run.out()).not.toContain('verdict'); // no summary table yet
    run.p.stdin.end();
    await run.exited;
    expect(run.out()).toContain('1 problem, shown above as they were decided');
  }, 20_000);

  it('a regular file counts capture time only: the same SYN at the end of a file is capture-ended', () => {
    const f = join(tmp, 'one-syn.pcap');
    writeFileSync(f, synCapture(40002));
    const r = spawnSync(process.execPath, [BIN, '-f', 'ndjson', '--syn-timeout', '0.5s', f], { encoding: 'utf8' });
    expect(r.stdout).toContain('"verdict":"capture-ended"');
  });

  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${sig} prints the summary, reports pending flows as capture-ended, and exits ${code}`, async () => {
      const run = start(['-', '--format', 'ndjson']);
      run.p.stdin.write(synCapture(40003));
      await idleAfterStart(run.p.pid);
      run.p.kill(sig);
      const ex = await run.exited;
      expect(ex.code).toBe(code);
      const lines = ndjsonLines(run.out());
      expect(lines.map((l) => (l.type === 'flow' ? l.verdict : l.type))).toEqual(['capture-ended', 'group', 'summary']);
      expect(run.err()).not.toMatch(/\n\s+at /);
    }, 20_000);
  }

  it('SIGINT before any input still ends with a summary', async () => {
    const run = start(['-', '--format', 'ndjson']);
    await idleAfterStart(run.p.pid);
    run.p.kill('SIGINT');
    expect((await run.exited).code).toBe(130);
    expect(ndjsonLines(run.out()).map((l) => l.type)).toEqual(['summary']);
  }, 20_000);

  it('input trickling through a pipe in small pieces: every packet counted, as tshark counts them', async () => {
    const data = readFixture('dns.pcap');
    const run = start(['-', '--format', 'ndjson']);
    for (let off = 0; off < data.length; off += 700) {
      run.p.stdin.write(data.subarray(off, off + 700));
      await new Promise((r) => setTimeout(r, 5));
    }
    run.p.stdin.end();
    expect((await run.exited).code).toBe(0);
    const summary = last(ndjsonLines(run.out()));
    const expected = hasCommand('tshark')
      ? Number(spawnSync('sh', ['-c', `tshark -r '${join(FIXTURES, 'dns.pcap')}' 2>/dev/null | wc -l`], { encoding: 'utf8' }).stdout.trim())
      : /"packets": (\d+)/.exec(spawnSync(process.execPath, [BIN, '-f', 'json', join(FIXTURES, 'dns.pcap')], { encoding: 'utf8' }).stdout)?.[1];
    expect(summary.input?.packets).toBe(Number(expected));
  }, 30_000);
  it('through a shell pipe, in bursts and pauses: the same flows as from the file', () => {
    // a real pipe (not the socket pair a spawned child gets): read with readSync while bytes are
    // there, and through the stream's 'readable' after EAGAIN, in order
    const file = join(FIXTURES, 'http-errors.pcap');
    const writer = `const d=require('fs').readFileSync(${JSON.stringify(file)});let o=0;const step=()=>{if(o>=d.length)return;const n=o<4000?4000:333;process.stdout.write(d.subarray(o,o+n));o+=n;setTimeout(step,3)};step()`;
    const r = spawnSync('sh', ['-c', `"${process.execPath}" -e "$W" | "${process.execPath}" "${BIN}" - --format ndjson`], { encoding: 'utf8', env: { ...process.env, W: writer }, timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    const flows = (out: string) =>
      ndjsonLines(out)
        .filter(isFlow)
        .map((x) => `${x.client} ${x.server} ${x.verdict} ${x.packets}`)
        .sort();
    const fromFile = spawnSync(process.execPath, [BIN, file, '--format', 'ndjson'], { encoding: 'utf8' }).stdout;
    expect(flows(r.stdout)).toEqual(flows(fromFile));
    expect(flows(r.stdout).length).toBeGreaterThan(2);
  }, 30_000);
  it('a pipe that goes quiet and then closes with nothing more: the run ends at the close', () => {
    const file = join(FIXTURES, 'tcp-ok.pcap');
    // a hang would hit spawnSync's timeout (status null)
    const r = spawnSync('sh', ['-c', `(cat "${file}"; sleep 0.5) | "${process.execPath}" "${BIN}" - --format ndjson`], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(last(ndjsonLines(r.stdout)).type).toBe('summary');
    const empty = spawnSync('sh', ['-c', `sleep 0.3 | "${process.execPath}" "${BIN}" -`], { encoding: 'utf8', timeout: 20_000 });
    expect(empty.status).toBe(3);
    expect(empty.stderr).toBe('pcapdiag: empty input: no capture data\n');
  }, 30_000);
});

describe('the pipe from the capturing process', () => {
  /** Bytes a FIFO takes before a non-blocking write would block: its capacity. */
  function capacity(widen: boolean): number {
    const path = join(tmp, `fifo-${widen}`);
    expect(spawnSync('mkfifo', [path]).status).toBe(0);
    const r = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const w = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    if (widen) widenPipe(r);
    const chunk = Buffer.alloc(4096);
    let n = 0;
    try {
      for (; n < 16 << 20;) n += writeSync(w, chunk);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
    closeSync(w);
    closeSync(r);
    return n;
  }

  it.skipIf(process.platform !== 'linux' || !hasCommand('perl'))('is widened from 64 KiB to 1 MiB, so the writer blocks less and each read takes more', () => {
    expect(capacity(false)).toBe(64 << 10);
    expect(capacity(true)).toBe(1 << 20);
  });
});

describe('pipes closed by the reader', () => {
  /** `n` refused connections: a capture big enough that the output outlives head. */
  const refused = (n: number, name: string) => {
    const recs = [];
    for (let i = 0; i < n; i++) {
      const sport = 10000 + (i % 50000);
      recs.push({ sec: 1700000000 + i, frac: 0, data: tcpFrame('c2s', { sport, dport: 81, seq: 1000 + i, flags: FLAGS.SYN }) });
      recs.push({ sec: 1700000000 + i, frac: 100, data: tcpFrame('s2c', { sport: 81, dport: sport, seq: 0, ack: 1001 + i, flags: FLAGS.RST | FLAGS.ACK }) });
    }
    const f = join(tmp, name);
    writeFileSync(f, pcap(recs));
    return f;
  };
  const piped = (args: string, reader: string) => spawnSync('bash', ['-c', `'${process.execPath}' '${BIN}' ${args} | ${reader}; echo "status \${PIPESTATUS[0]}"`], { encoding: 'utf8', timeout: 60_000 });

  it('`pcapdiag … | head -1` ends quietly', () => {
    const r = piped(`-f ndjson '${refused(3000, 'many.pcap')}'`, 'head -1');
    expect(r.stdout).toMatch(/^\{"type":"flow".*\nstatus 0\n$/);
    expect(r.stderr).toBe('');
  });

  it('the same for a pipe named by -o (`-o /dev/stdout | head -1`), with and without CI gates', () => {
    const f = refused(3000, 'many-o.pcap');
    const r = piped(`-f ndjson -o /dev/stdout '${f}'`, 'head -1');
    expect(r.stdout).toMatch(/^\{"type":"flow".*\nstatus 0\n$/);
    expect(r.stderr).toBe('');
    const failing = piped(`-f ndjson --fail-on refused -o /dev/stdout '${f}'`, 'head -1');
    expect(failing.stdout).toMatch(/^\{"type":"flow".*\nstatus 1\n$/);
    expect(failing.stderr).toContain('pcapdiag: failed: 3000 flows with refused (--fail-on)\n');
    expect(failing.stderr).not.toContain('cannot write');
    const passing = piped(`-f ndjson --fail-on timeout -o /dev/stdout '${f}'`, 'head -1');
    expect(passing.stdout).toMatch(/^\{"type":"flow".*\nstatus 0\n$/);
    expect(passing.stderr).not.toMatch(/failed|cannot write/);
  });

  it('with --write-pcap the run goes on and writes the file, whether stdout or an -o pipe closed', () => {
    const f = refused(3000, 'many-write.pcap');
    const whole = join(tmp, 'whole.pcapng');
    expect(piped(`-f ndjson --write-pcap '${whole}' '${f}'`, 'cat > /dev/null').stdout).toBe('status 0\n');
    for (const o of ['', '-o /dev/stdout']) {
      const w = join(tmp, `cut${o === '' ? '' : '-o'}.pcapng`);
      const r = piped(`-f ndjson --write-pcap '${w}' ${o} '${f}'`, 'head -1');
      expect(r.stdout, o).toMatch(/^\{"type":"flow".*\nstatus 0\n$/);
      expect(r.stderr, o).not.toMatch(/cannot write|failed/);
      expect(readFileSync(w).equals(readFileSync(whole)), o).toBe(true);
    }
  });

  it('with CI gates the run goes on to their exit code (for `set -o pipefail`), the output dropped', () => {
    const f = refused(3000, 'many-gated.pcap');
    const failing = piped(`-f ndjson --fail-on refused '${f}'`, 'head -1');
    expect(failing.stdout).toMatch(/^\{"type":"flow".*\nstatus 1\n$/);
    expect(failing.stderr).toContain('pcapdiag: failed: 3000 flows with refused (--fail-on)\n');
    const passing = piped(`-f ndjson --fail-on timeout '${f}'`, 'head -1');
    expect(passing.stdout).toMatch(/^\{"type":"flow".*\nstatus 0\n$/);
    expect(passing.stderr).not.toContain('failed');
    // stderr into the same closed pipe: its warnings and failure line are dropped, not an uncaught EPIPE (exit 1)
    expect(piped(`-f ndjson --fail-on timeout '${f}' 2>&1`, 'head -1').stdout).toMatch(/\nstatus 0\n$/);
    expect(piped(`-f ndjson --fail-on refused '${f}' 2>&1`, 'head -1').stdout).toMatch(/\nstatus 1\n$/);
  });

  it('with CI gates, a reader that goes away while the output waits for it (backpressure) does not hang the run', () => {
    // more than the 4 MiB of output queued before the analysis waits for its reader, which then closes
    const f = refused(12000, 'more-gated.pcap');
    for (const o of ['', '-o /dev/stdout']) {
      const r = piped(`-f ndjson --fail-on refused ${o} '${f}'`, '(sleep 1; head -c 1 > /dev/null)');
      expect(r.stdout, o).toBe('status 1\n');
      expect(r.stderr, o).toContain('pcapdiag: failed: 12000 flows with refused (--fail-on)\n');
      expect(r.stderr, o).not.toContain('cannot write');
    }
  });
});

describe('--follow reads a capture that is still being written', () => {
  it('reports what is appended, and stops with a summary on Ctrl-C', async () => {
    const f = join(tmp, 'growing.pcap');
    const all = pcap([
      { sec: 1700000000, frac: 0, data: tcpFrame('c2s', { sport: 41000, dport: 81, seq: 5, flags: FLAGS.SYN }) },
      { sec: 1700000000, frac: 300, data: tcpFrame('s2c', { sport: 81, dport: 41000, seq: 0, ack: 6, flags: FLAGS.RST | FLAGS.ACK }) },
    ]);
    const firstRecordEnd = 24 + 16 + tcpFrame('c2s', { sport: 41000, dport: 81, seq: 5, flags: FLAGS.SYN }).length;
    writeFileSync(f, all.subarray(0, firstRecordEnd - 10)); // the writer is in the middle of a record
    const run = start(['--follow', '-f', 'ndjson', f]);
    await new Promise((r) => setTimeout(r, 600));
    appendFileSync(f, all.subarray(firstRecordEnd - 10));
    await run.waitFor(/"verdict":"refused"/, 10_000);
    expect(run.p.exitCode).toBeNull();
    run.p.kill('SIGINT');
    const ex = await run.exited;
    expect(ex.code).toBe(130);
    const summary = last(ndjsonLines(run.out()));
    expect(summary.input?.packets).toBe(2);
    expect(summary.anomalies).toEqual([]); // a record still being written is not damage
  }, 20_000);
});

describe('--follow on a file truncated and written again (#22)', () => {
  /** `n` refused connections to `port`, from `sec` on. */
  const refusals = (port: number, n: number, sec: number) =>
    pcap(
      Array.from({ length: n }, (_, i) => [
        { sec: sec + i, frac: 0, data: tcpFrame('c2s', { sport: 42000 + i, dport: port, seq: 5, flags: FLAGS.SYN }) },
        { sec: sec + i, frac: 300, data: tcpFrame('s2c', { sport: port, dport: 42000 + i, seq: 0, ack: 6, flags: FLAGS.RST | FLAGS.ACK }) },
      ]).flat(),
    );
  for (const how of ['truncated, then shorter', 'overwritten in place, longer'] as const) {
    it(`${how}: one warning line, the capture read so far reported, the new one analysed from its start`, async () => {
      const f = join(tmp, `rewritten-${how.startsWith('truncated') ? 'shorter' : 'longer'}.pcap`);
      const shorter = how.startsWith('truncated');
      writeFileSync(f, refusals(81, shorter ? 3 : 1, 1_700_000_000));
      const run = start(['--follow', '-f', 'ndjson', f]);
      await run.waitFor(/"server":"10\.0\.2\.20:81"/, 10_000);
      // truncating (writeFileSync's 'w') or writing over the old bytes without truncating ('r+')
      writeFileSync(f, refusals(82, shorter ? 1 : 4, 1_700_000_100), { flag: shorter ? 'w' : 'r+' });
      await run.waitFor(/"server":"10\.0\.2\.20:82"(.|\n)*"server":"10\.0\.2\.20:82"/, 10_000).catch(() => undefined);
      await run.waitFor(/"server":"10\.0\.2\.20:82"/, 10_000);
      await new Promise((r) => setTimeout(r, 500));
      run.p.kill('SIGINT');
      expect((await run.exited).code).toBe(130);
      const lines = ndjsonLines(run.out());
      const summaries = lines.filter((l) => l.type === 'summary');
      expect(summaries.map((s) => s.input?.packets)).toEqual([shorter ? 6 : 2, shorter ? 2 : 8]);
      expect(lines.filter(isFlow).map((l) => `${l.id} ${l.server} ${l.verdict}`)).toEqual([
        ...Array.from({ length: shorter ? 3 : 1 }, (_, i) => `${i + 1} 10.0.2.20:81 refused`),
        ...Array.from({ length: shorter ? 1 : 4 }, (_, i) => `${i + (shorter ? 4 : 2)} 10.0.2.20:82 refused`),
      ]);
      const warnings = run
        .err()
        .split('\n')
        .filter((l) => l.includes('written again'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^pcapdiag: warning: .*rewritten-\w+\.pcap was truncated and written again \(\d+ bytes now, \d+ read\): starting over on the new capture$/);
    }, 30_000);
  }
});
