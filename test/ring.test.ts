import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, cli, isFlow, last, ndjsonLines } from './helpers/run.js';
import { FLAGS, pcap, tcpFrame, type Rec } from './helpers/build.js';
import { firstPacketTime, followStart, patternStem, RingFollower } from '../src/capture/ring.js';

const tmp = mkdtempSync(join(tmpdir(), 'pcapdiag-ring-'));

/** A running pcapdiag whose stdout and stderr are collected; `waitFor` resolves when stdout matches. */
function start(args: string[]) {
  const p = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
  return {
    p,
    exited,
    out: () => out,
    err: () => err,
    async waitFor(re: RegExp, ms: number): Promise<number> {
      const t0 = Date.now();
      while (!re.test(out)) {
        if (Date.now() - t0 > ms) throw new Error(`no ${re} within ${ms} ms; stdout: ${out}; stderr: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return Date.now() - t0;
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A connection's packets from `sec`: the handshake and a request (`head`), then the answer and both FINs (`tail`). */
function connection(sport: number, dport: number, sec: number): { head: Rec[]; tail: Rec[] } {
  type Seg = Omit<Parameters<typeof tcpFrame>[1], 'sport' | 'dport'>;
  const c = (frac: number, o: Seg, payload?: Buffer) => ({ sec, frac, data: tcpFrame('c2s', { sport, dport, ...o }, payload) });
  const s = (frac: number, o: Seg, payload?: Buffer) => ({ sec, frac, data: tcpFrame('s2c', { sport: dport, dport: sport, ...o }, payload) });
  return {
    head: [
      c(0, { seq: 1000, flags: FLAGS.SYN }),
      s(300, { seq: 5000, ack: 1001, flags: FLAGS.SYN | FLAGS.ACK }),
      c(600, { seq: 1001, ack: 5001, flags: FLAGS.ACK }),
      c(900, { seq: 1001, ack: 5001, flags: FLAGS.PSH | FLAGS.ACK }, Buffer.from('GET / HTTP/1.0\r\n\r\n')),
    ],
    tail: [
      { ...s(0, { seq: 5001, ack: 1019, flags: FLAGS.PSH | FLAGS.ACK }, Buffer.from('HTTP/1.0 200 OK\r\n\r\n')), sec: sec + 1 },
      { ...s(100, { seq: 5020, ack: 1019, flags: FLAGS.FIN | FLAGS.ACK }), sec: sec + 1 },
      { ...c(200, { seq: 1019, ack: 5021, flags: FLAGS.FIN | FLAGS.ACK }), sec: sec + 1 },
      { ...s(300, { seq: 5021, ack: 1020, flags: FLAGS.ACK }), sec: sec + 1 },
    ],
  };
}

/** A SYN answered by a RST. */
const refused = (sport: number, dport: number, sec: number): Rec[] => [
  { sec, frac: 0, data: tcpFrame('c2s', { sport, dport, seq: sport, flags: FLAGS.SYN }) },
  { sec, frac: 200, data: tcpFrame('s2c', { sport: dport, dport: sport, seq: 0, ack: sport + 1, flags: FLAGS.RST | FLAGS.ACK }) },
];

const T = 1_700_000_000;
const flowsOf = (out: string) => ndjsonLines(out).filter(isFlow);

describe('the parts of a rotated set, looked at while they are written (ring.ts)', () => {
  it('first packet times: pcap, gzip-compressed, header only, not a capture', () => {
    const dir = mkdtempSync(join(tmp, 'peek-'));
    writeFileSync(join(dir, 'a.pcap'), pcap(refused(1, 2, T + 5)));
    writeFileSync(join(dir, 'h.pcap'), pcap([]));
    writeFileSync(join(dir, 'x.pcap'), 'not a capture at all');
    writeFileSync(join(dir, 'a.pcap1.gz'), gzipSync(pcap(refused(1, 2, T + 7))));
    expect(firstPacketTime(join(dir, 'a.pcap'))).toBe(T + 5);
    expect(firstPacketTime(join(dir, 'a.pcap1.gz'))).toBe(T + 7);
    expect(firstPacketTime(join(dir, 'h.pcap'))).toBeNull();
    expect(firstPacketTime(join(dir, 'x.pcap'))).toBeNull();
    expect(patternStem('trace-%Y%m%d-%H%M%S.pcap')).toBe('trace--.pcap');
    expect(patternStem('ring.pcap')).toBe('ring.pcap');
  });

  it('a ring that wraps: the next part is the one rewritten after the current one, not an older round', () => {
    const dir = mkdtempSync(join(tmp, 'wrap-'));
    // the previous round: ring.pcap1 and ring.pcap2, older than the part being read (ring.pcap0)
    writeFileSync(join(dir, 'ring.pcap1'), pcap(refused(1, 90, T - 200)));
    writeFileSync(join(dir, 'ring.pcap2'), pcap(refused(1, 90, T - 100)));
    writeFileSync(join(dir, 'ring.pcap0'), pcap(refused(1, 81, T)));
    writeFileSync(join(dir, 'other.log'), 'x');
    const { set, first } = followStart(join(dir, 'ring.pcap0'));
    expect(first).toBe(join(dir, 'ring.pcap0'));
    expect([...set.members.keys()].sort()).toEqual(['ring.pcap0', 'ring.pcap1', 'ring.pcap2'].map((n) => join(dir, n)));
    const f = new RingFollower(set);
    f.begin(first);
    expect(f.movedOn()).toBe(false); // ring.pcap1 and 2 are older: the writer is still on ring.pcap0
    // tcpdump -z gzip compressed a copy of the part being read: the same part, not the next one
    writeFileSync(join(dir, 'ring.pcap0.gz'), gzipSync(pcap(refused(1, 81, T))));
    expect(waitMovedOn(f, 300)).toBe(false);
    writeFileSync(join(dir, 'ring.pcap1'), pcap([])); // rotated: header only, nothing to go on to yet
    expect(f.movedOn()).toBe(false);
    appendFileSync(join(dir, 'ring.pcap1'), pcap(refused(1, 82, T + 1)).subarray(24));
    expect(waitMovedOn(f)).toBe(true);
    const f2 = new RingFollower(set);
    f2.begin(first);
    expect(waitMovedOn(f2)).toBe(true);
    // given the name given to tcpdump -w: the oldest part first
    expect(followStart(join(dir, 'ring.pcap')).first).toBe(join(dir, 'ring.pcap2'));
    // the directory: its one set
    expect(followStart(dir).first).toBe(join(dir, 'ring.pcap2'));
  });

  it('nothing to follow, or a directory of several sets: one line, exit 3', () => {
    const dir = mkdtempSync(join(tmp, 'two-'));
    writeFileSync(join(dir, 'a.pcap'), pcap(refused(1, 81, T)));
    writeFileSync(join(dir, 'b0.pcap'), pcap(refused(1, 81, T)));
    for (const [input, re] of [
      [join(dir, 'nosuch.pcap'), /^pcapdiag: cannot open .*nosuch\.pcap: no such file, and no parts of a rotated set named like it \(.*nosuch\.pcap\*\)$/],
      [dir, /^pcapdiag: .* holds 2 sets of captures \(a\.pcap, b0\.pcap\): give --follow one of their files, or the name given to tcpdump -w$/],
    ] as const) {
      const r = cli(['--follow', input]);
      expect(r.code).toBe(3);
      expect(r.stderr.trim()).toMatch(re);
    }
  });
});

/** movedOn() as the source asks it, every poll, for up to `ms` (the directory is looked at again after a backoff). */
function waitMovedOn(f: RingFollower, ms = 2000): boolean {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (f.movedOn()) return true;
    const until = Date.now() + 20;
    while (Date.now() < until) {
      /* a short poll interval */
    }
  }
  return false;
}

describe('--follow on a ring that is still rotating (tcpdump -C -W, simulated by writing the parts)', () => {
  it('a connection open across two rotations is one ok record, frames count on, an older round is not read, a SYN times out on the wall clock', async () => {
    const dir = mkdtempSync(join(tmp, 'live-'));
    mkdirSync(dir, { recursive: true });
    const a = connection(41000, 80, T);
    writeFileSync(join(dir, 'ring.pcap1'), pcap(refused(1, 90, T - 200)));
    writeFileSync(join(dir, 'ring.pcap2'), pcap(refused(1, 90, T - 100)));
    writeFileSync(join(dir, 'ring.pcap0'), pcap(a.head));
    const run = start(['--follow', '-f', 'ndjson', '--syn-timeout', '0.5s', join(dir, 'ring.pcap0')]);
    await sleep(700);
    expect(run.out()).toBe(''); // the connection is open
    // rotation: ring.pcap1 rewritten from the start (tcpdump opens it with "w"), the header first
    writeFileSync(join(dir, 'ring.pcap1'), pcap([]));
    await sleep(300);
    appendFileSync(join(dir, 'ring.pcap1'), pcap([...a.tail, ...refused(41001, 81, T + 2)]).subarray(24));
    await run.waitFor(/"verdict":"refused"/, 10_000);
    // the next rotation: a SYN nobody answers, the last packet written
    writeFileSync(join(dir, 'ring.pcap2'), pcap([{ sec: T + 3, frac: 0, data: tcpFrame('c2s', { sport: 41002, dport: 82, seq: 1, flags: FLAGS.SYN }) }]));
    const waited = await run.waitFor(/"verdict":"timeout"/, 15_000);
    expect(waited).toBeLessThan(8000); // --syn-timeout 0.5 s + 1 s, plus the polls
    expect(run.p.exitCode).toBeNull();
    run.p.kill('SIGINT');
    expect(await run.exited).toBe(130);
    const flows = flowsOf(run.out());
    expect(flows.map((f) => `${f.id} ${f.server} ${f.verdict} #${f.firstFrame}`)).toEqual(['1 10.0.2.20:80 ok #1', '2 10.0.2.20:81 refused #9', '3 10.0.2.20:82 timeout #11']);
    const summary = last(ndjsonLines(run.out()));
    expect(summary.input?.packets).toBe(11);
    expect(summary.input?.parts?.map((p) => p.name)).toEqual(['ring.pcap0', 'ring.pcap1', 'ring.pcap2'].map((n) => join(dir, n)));
    expect(run.err()).not.toMatch(/written again|error|overtaken/); // (the checksum warning of built packets aside)
  }, 40_000);

  it('a ring that comes round to the part being read (pcapdiag a whole ring behind): one warning line, the capture goes on', async () => {
    const dir = mkdtempSync(join(tmp, 'lapped-'));
    writeFileSync(join(dir, 'ring.pcap1'), pcap(refused(1, 90, T - 200)));
    writeFileSync(join(dir, 'ring.pcap2'), pcap(refused(2, 90, T - 100)));
    const old = pcap([...refused(44000, 81, T), ...refused(44001, 81, T + 1)]);
    writeFileSync(join(dir, 'ring.pcap0'), old.subarray(0, old.length - 80)); // the last SYN still being written, its RST to come
    const run = start(['--follow', '-f', 'ndjson', '--write-pcap', join(dir, 'out.pcapng'), join(dir, 'ring.pcap0')]);
    await run.waitFor(/"server":"10\.0\.2\.20:81"/, 10_000);
    // tcpdump went round the ring: ring.pcap0 is written again with newer packets
    writeFileSync(join(dir, 'ring.pcap0'), pcap(refused(44002, 83, T + 50)));
    await run.waitFor(/"server":"10\.0\.2\.20:83"/, 10_000);
    writeFileSync(join(dir, 'ring.pcap1'), pcap(refused(44003, 84, T + 60)));
    await run.waitFor(/"server":"10\.0\.2\.20:84"/, 10_000);
    run.p.kill('SIGINT');
    expect(await run.exited).toBe(130);
    const lines = ndjsonLines(run.out());
    expect(lines.filter((l) => l.type === 'summary')).toHaveLength(1); // one capture
    expect(flowsOf(run.out()).map((f) => `${f.id} ${f.server} ${f.verdict}`)).toEqual(['1 10.0.2.20:81 refused', '2 10.0.2.20:83 refused', '3 10.0.2.20:84 refused']);
    const warned = run
      .err()
      .split('\n')
      .filter((l) => l.includes('before it was read'));
    expect(warned).toEqual([`pcapdiag: warning: ${join(dir, 'ring.pcap0')} was written again before it was read to its end (${old.length - 80} bytes read): pcapdiag fell a whole ring behind, the rest of that part is lost`]);
    // its parts cannot be read again for --write-pcap: said, not written wrong
    expect(run.err()).toContain(`pcapdiag: warning: ${join(dir, 'ring.pcap0')} was followed round a ring whose parts were written again since, so its packets cannot be read again: the packets of its 3 flows are not written`);
  }, 30_000);

  it("given tcpdump's -w name, reads the set from its oldest part (-C without -W: ring.pcap, ring.pcap1, …) and follows the parts that come", async () => {
    const dir = mkdtempSync(join(tmp, 'stem-'));
    const a = connection(42000, 80, T);
    writeFileSync(join(dir, 'ring.pcap'), pcap(a.head.slice(0, 2)));
    writeFileSync(join(dir, 'ring.pcap1'), pcap(a.head.slice(2)));
    const run = start(['--follow', '-f', 'ndjson', join(dir, 'ring.pcap')]);
    await sleep(700);
    writeFileSync(join(dir, 'ring.pcap2'), pcap([...a.tail, ...refused(42001, 81, T + 3)]));
    await run.waitFor(/"verdict":"refused"/, 10_000);
    run.p.kill('SIGINT');
    expect(await run.exited).toBe(130);
    expect(flowsOf(run.out()).map((f) => `${f.id} ${f.verdict} #${f.firstFrame}`)).toEqual(['1 ok #1', '2 refused #9']);
    expect(last(ndjsonLines(run.out())).input?.packets).toBe(10);
  }, 30_000);

  it("the same records as reading the finished parts in sequence (tcpdump -G's strftime names, given as the pattern)", async () => {
    const dir = mkdtempSync(join(tmp, 'time-'));
    const a = connection(43000, 80, T);
    const parts = [pcap(a.head), pcap([...a.tail.slice(0, 2), ...refused(43001, 81, T + 1)]), pcap([...a.tail.slice(2), ...refused(43002, 83, T + 2)])];
    writeFileSync(join(dir, `trace-${T}.pcap`), parts[0]);
    const run = start(['--follow', '-f', 'ndjson', join(dir, 'trace-%s.pcap')]);
    await sleep(500);
    writeFileSync(join(dir, `trace-${T + 1}.pcap`), parts[1]);
    await sleep(500);
    writeFileSync(join(dir, `trace-${T + 2}.pcap`), parts[2]);
    await run.waitFor(/"server":"10\.0\.2\.20:83"/, 10_000);
    await sleep(300);
    run.p.kill('SIGINT');
    await run.exited;
    const followed = flowsOf(run.out()).map(({ file: _f, ...r }) => r);
    const whole = flowsOf(cli(['-f', 'ndjson', ...[0, 1, 2].map((k) => join(dir, `trace-${T + k}.pcap`))]).stdout).map(({ file: _f, ...r }) => r);
    expect(followed).toEqual(whole);
    expect(whole.map((r) => r.verdict)).toEqual(['ok', 'refused', 'refused']);
  }, 30_000);
});
