/** DNS messages for the adversarial suite: a query, a response, a name that points at itself. */
const u16 = (v: number) => Buffer.from([(v >> 8) & 255, v & 255]);

function name(n: string): Buffer {
  const parts: Buffer[] = [];
  for (const l of n.split('.').filter((x) => x !== '')) parts.push(Buffer.from([Buffer.byteLength(l)]), Buffer.from(l));
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** A standard query (A, IN) for `qname`, or its response with `rcode`. */
export function dnsQuery(id: number, qname: string, response = false, rcode = 0): Buffer {
  const h = Buffer.concat([u16(id), u16(response ? 0x8180 | rcode : 0x0100), u16(1), u16(0), u16(0), u16(0)]);
  return Buffer.concat([h, name(qname), u16(1), u16(1)]);
}

/** A query whose question name is a compression pointer to itself (offset 12). */
export function dnsPointerLoop(id: number): Buffer {
  return Buffer.concat([u16(id), u16(0x0100), u16(1), u16(0), u16(0), u16(0), Buffer.from([0xc0, 12]), u16(1), u16(1)]);
}

/** A header that promises five questions and carries none. */
export function dnsShort(id: number): Buffer {
  return Buffer.concat([u16(id), u16(0x0100), u16(5), u16(0), u16(0), u16(0), Buffer.from([0xc0])]);
}
