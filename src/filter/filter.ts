import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { UsageError } from '../errors.js';
import type { FlowRecord, VerdictId } from '../verdict/types.js';
import { hostOf, portOf } from '../flow/addr.js';

/**
 * tcpdump-style filters over whole flows: `host`, `src`/`dst host`, `net` (CIDR), `port`,
 * `portrange`, `tcp`, `udp`, `icmp`, `ip`, `ip6`, `and`/`or`/`not` (`&&`, `||`, `!`) and
 * parentheses. A flow matches when the filter matches its packets in either direction, so
 * `src host 10.0.2.20` selects every connection to 10.0.2.20 as tcpdump would show both halves.
 */

/**
 * What a filter reads of a flow: its protocol and endpoints, and once it is decided its verdict
 * (for `icmp`) and a lookup's transport. A FlowRecord is one; so is a flow still being tracked,
 * which has no verdict yet (the analyzer asks about each new UDP flow, to count the ones accepted).
 */
export interface FlowProbe {
  readonly proto: FlowRecord['proto'];
  readonly client: string;
  readonly server: string;
  readonly transport?: 'udp' | 'tcp';
  readonly verdict?: VerdictId;
}

/** A filter as the analyzer applies it. */
export type FlowMatch = (f: FlowProbe) => boolean;

/** One endpoint of a flow as the filter sees it. */
interface End {
  addr: string;
  family: 'ipv4' | 'ipv6';
  port: number;
}

/** A flow seen in one direction: src → dst. */
interface View {
  src: End;
  dst: End;
  rec: FlowProbe;
}

type Test = (v: View) => boolean;
type Dir = 'src' | 'dst' | 'either' | 'both';

/** Splits "host 10.0.2.20 and (port 80 or port 443)" into words, parentheses on their own. */
function tokenize(s: string): string[] {
  return s
    .replace(/([()])/g, ' $1 ')
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
}

/** Splits "10.0.2.20:443" or "[fd00:2::20]:443" into an endpoint. */
function endpoint(s: string): End {
  const addr = hostOf(s);
  return { addr, family: addr.includes(':') ? 'ipv6' : 'ipv4', port: portOf(s) };
}

export class FlowFilter {
  private constructor(
    readonly text: string,
    private readonly test: Test,
  ) {}

  /** Parses a filter; throws UsageError naming the offending word. */
  static parse(text: string): FlowFilter {
    return new FlowFilter(text, new Parser(tokenize(text), text).parse());
  }

  matches(r: FlowProbe): boolean {
    const c = endpoint(r.client);
    const s = endpoint(r.server);
    return this.test({ src: c, dst: s, rec: r }) || this.test({ src: s, dst: c, rec: r });
  }
}

/** How deep `not` and parentheses may nest (tcpdump's own grammar has no use for more). */
const MAX_NESTING = 256;

class Parser {
  private i = 0;
  constructor(
    private readonly w: string[],
    private readonly text: string,
  ) {}

  private fail(msg: string, at = this.i): never {
    const word = at < this.w.length ? `'${this.w[at]}' (word ${at + 1})` : 'the end';
    const text = this.text.length > 80 ? `${this.text.slice(0, 60)}… (${this.text.length} characters)` : this.text;
    throw new UsageError(`filter '${text}': ${msg} at ${word.length > 80 ? `${word.slice(0, 60)}…` : word}`);
  }

  private peek(): string | undefined {
    return this.w[this.i]?.toLowerCase();
  }

  parse(): Test {
    if (this.w.length === 0) this.fail('empty filter');
    const t = this.or();
    if (this.i < this.w.length) this.fail(this.peek() === ')' ? "a ')' without its '('" : "expected 'and' or 'or'");
    return t;
  }

  // A chain of `or`s (or `and`s) is one flat list, not nested closures: a 20,000-term chain must
  // not overflow the stack when a flow is tested. Nesting (`not`, parentheses) is what recursion
  // follows, and is capped.
  private or(): Test {
    const terms = [this.and()];
    while (this.peek() === 'or' || this.peek() === '||') {
      this.i++;
      terms.push(this.and());
    }
    if (terms.length === 1) return terms[0];
    return (v) => {
      for (const t of terms) if (t(v)) return true;
      return false;
    };
  }

  private and(): Test {
    const terms = [this.not()];
    while (this.peek() === 'and' || this.peek() === '&&') {
      this.i++;
      terms.push(this.not());
    }
    if (terms.length === 1) return terms[0];
    return (v) => {
      for (const t of terms) if (!t(v)) return false;
      return true;
    };
  }

  private depth = 0;

  private not(): Test {
    const word = this.peek();
    if (word !== 'not' && word !== '!' && word !== '(') return this.primitive();
    if (++this.depth > MAX_NESTING) this.fail(`nested more than ${MAX_NESTING} deep ('not' and parentheses)`);
    this.i++;
    let t: Test;
    if (word === '(') {
      t = this.or();
      if (this.peek() !== ')') this.fail("expected ')'");
      this.i++;
    } else {
      const inner = this.not();
      t = (v) => !inner(v);
    }
    this.depth--;
    return t;
  }

  private primitive(): Test {
    const word = this.peek();
    if (word === undefined) this.fail('expected a primitive (host, net, port, tcp, …)');
    switch (word) {
      case 'tcp':
        this.i++;
        return (v) => v.rec.proto === 'tcp' || v.rec.transport === 'tcp';
      case 'udp':
        this.i++;
        return (v) => v.rec.proto === 'udp' || (v.rec.proto === 'dns' && v.rec.transport !== 'tcp');
      case 'icmp':
        // flows whose verdict came from an ICMP error
        this.i++;
        return (v) => v.rec.verdict !== undefined && v.rec.verdict.startsWith('icmp-');
      case 'ip':
        this.i++;
        return (v) => v.src.family === 'ipv4';
      case 'ip6':
        this.i++;
        return (v) => v.src.family === 'ipv6';
    }
    let dir: Dir = 'either';
    if (word === 'src' || word === 'dst') {
      this.i++;
      dir = word;
      const next = this.peek();
      if ((next === 'or' || next === 'and') && this.w[this.i + 1]?.toLowerCase() === (word === 'src' ? 'dst' : 'src')) {
        dir = next === 'or' ? 'either' : 'both';
        this.i += 2;
      }
    }
    const kind = this.peek();
    if (kind === 'host' || kind === 'net' || kind === 'port' || kind === 'portrange') {
      this.i++;
      const arg = this.w[this.i];
      if (arg === undefined || arg === '(' || arg === ')') this.fail(`expected a value after '${kind}'`);
      const test = kind === 'port' ? this.port(arg) : kind === 'portrange' ? this.portrange(arg) : this.addresses(arg, kind === 'net');
      this.i++;
      return on(dir, test);
    }
    if (kind !== undefined && (isIPv4(this.w[this.i]) || isIPv6(this.w[this.i]))) {
      // tcpdump: an address with no keyword is a host
      const test = this.addresses(this.w[this.i], false);
      this.i++;
      return on(dir, test);
    }
    return this.fail(dir === 'either' ? 'unknown word; expected host, net, port, portrange, src, dst, tcp, udp, icmp, ip, ip6, not or (' : "expected host, net, port or portrange after 'src'/'dst'");
  }

  private port(s: string): (e: End) => boolean {
    const p = this.portNumber(s);
    return (e) => e.port === p;
  }

  private portrange(s: string): (e: End) => boolean {
    const m = /^(\d+)-(\d+)$/.exec(s);
    if (m === null) this.fail('expected a port range such as 8000-8080');
    const lo = this.portNumber(m[1]);
    const hi = this.portNumber(m[2]);
    if (lo > hi) this.fail('the range is backwards');
    return (e) => e.port >= lo && e.port <= hi;
  }

  private portNumber(s: string): number {
    if (!/^\d+$/.test(s) || Number(s) > 65535) this.fail('expected a port number 0-65535');
    return Number(s);
  }

  private addresses(s: string, isNet: boolean): (e: End) => boolean {
    const list = new BlockList();
    const [addr, bitsText] = s.split('/');
    const family = isIPv4(addr) ? 'ipv4' : isIPv6(addr) ? 'ipv6' : null;
    if (family === null) this.fail(isNet ? 'expected a network such as 10.0.2.0/24' : 'expected an IPv4 or IPv6 address (names are not resolved)');
    if (bitsText !== undefined || isNet) {
      const max = family === 'ipv4' ? 32 : 128;
      const bits = bitsText === undefined ? max : Number(bitsText);
      if (!/^\d+$/.test(bitsText ?? String(max)) || bits > max) this.fail(`expected a prefix length 0-${max}`);
      list.addSubnet(addr, bits, family);
    } else list.addAddress(addr, family);
    return (e) => e.family === family && list.check(e.addr, family);
  }
}

function on(dir: Dir, t: (e: End) => boolean): Test {
  switch (dir) {
    case 'src':
      return (v) => t(v.src);
    case 'dst':
      return (v) => t(v.dst);
    case 'both':
      return (v) => t(v.src) && t(v.dst);
    default:
      return (v) => t(v.src) || t(v.dst);
  }
}
