import { describe, expect, it } from 'vitest';
import { CONN_STATES, EP, ENDPOINT_STATE_NAMES, stepEndpointStates, synThenRst, zeekConnState, type ConnState, type EndpointState, type EndpointStates } from '../src/flow/conn-state.js';
import { TCP_FLAG } from '../src/decode/packet.js';

// Zeek's conn_state (base/protocols/conn/main.zeek) from its two endpoint states, and the endpoint
// state machine (TCPSessionAdapter::UpdateStateMachine) that produces them.

const { INACTIVE: I, SYN_SENT: SS, SYN_ACK_SENT: SAS, PARTIAL: P, ESTABLISHED: E, CLOSED: C, RESET: R } = EP;
const STATES: readonly EndpointState[] = [I, SS, SAS, P, E, C, R];
const name = (s: EndpointState) => ENDPOINT_STATE_NAMES[s];

/** originator state → responder state (columns in STATES order) → conn_state, with payload and no SYN-then-RST history. */
const TABLE: Record<string, readonly ConnState[]> = {
  //            inactive syn-sent syn-ack-sent partial established closed  reset
  inactive: /*     */ ['OTH', 'OTH', 'OTH', 'OTH', 'OTH', 'SHR', 'RSTRH'],
  'syn-sent': /*   */ ['S0', 'OTH', 'OTH', 'OTH', 'OTH', 'S3', 'REJ'],
  'syn-ack-sent': /**/ ['OTH', 'OTH', 'OTH', 'OTH', 'OTH', 'S3', 'REJ'],
  partial: /*      */ ['OTH', 'OTH', 'OTH', 'OTH', 'OTH', 'SHR', 'RSTRH'],
  established: /*  */ ['OTH', 'OTH', 'OTH', 'OTH', 'S1', 'S3', 'RSTR'],
  closed: /*       */ ['SH', 'S2', 'S2', 'SH', 'S2', 'SF', 'RSTR'],
  reset: /*        */ ['OTH', 'RSTO', 'RSTO', 'OTH', 'RSTO', 'RSTO', 'RSTR'],
};

describe('zeekConnState: one row per endpoint-state combination', () => {
  it('the table covers every combination', () => {
    expect(Object.keys(TABLE)).toEqual(STATES.map(name));
    for (const row of Object.values(TABLE)) expect(row).toHaveLength(STATES.length);
  });
  for (const orig of STATES) {
    for (const [j, resp] of STATES.entries()) {
      const want = TABLE[name(orig)][j];
      it(`orig ${name(orig)}, resp ${name(resp)} → ${want}: ${CONN_STATES[want]}`, () => {
        expect(zeekConnState(orig, resp, false, false)).toBe(want);
      });
    }
  }

  // the two facts besides the endpoint states that Zeek's function reads
  const extra: [EndpointState, EndpointState, boolean, boolean, ConnState][] = [
    [R, R, true, false, 'REJ'], // a RST each way and no payload either way: a rejection
    [R, R, false, true, 'RSTR'],
    [R, I, false, true, 'RSTOS0'], // history S…R: the originator's SYN, then its own RST
    [R, P, false, true, 'RSTOS0'],
    [R, E, false, true, 'RSTO'], // the responder answered: not RSTOS0 whatever the history
    [E, E, true, true, 'S1'],
  ];
  for (const [orig, resp, noPayload, synRst, want] of extra) {
    it(`orig ${name(orig)}, resp ${name(resp)}, no payload ${String(noPayload)}, SYN-then-RST history ${String(synRst)} → ${want}`, () => {
      expect(zeekConnState(orig, resp, noPayload, synRst)).toBe(want);
    });
  }

  it("synThenRst is Zeek's ^S[^HAFGIQ]*R", () => {
    expect(synThenRst('SR')).toBe(true);
    expect(synThenRst('SdR')).toBe(true); // the responder's letters are lower case
    expect(synThenRst('SaR')).toBe(true);
    expect(synThenRst('SAR')).toBe(false); // the originator ACKed something first
    expect(synThenRst('ShR')).toBe(true);
    expect(synThenRst('SFR')).toBe(false);
    expect(synThenRst('DR')).toBe(false);
    expect(synThenRst('S')).toBe(false);
  });
});

/**
 * Runs packets through the endpoint state machine: 'c:S' is a SYN from the client (originator),
 * 's:SA' a SYN-ACK from the server; letters S A F R are flags, D adds payload.
 */
function run(packets: string[]): { orig: EndpointState; resp: EndpointState; state: ConnState } {
  const eps: [EndpointStates, EndpointStates] = [
    { state: I, prevState: I },
    { state: I, prevState: I },
  ];
  let payload = false;
  let history = '';
  for (const p of packets) {
    const [side, f] = p.split(':');
    const dir = side === 'c' ? 0 : 1;
    let flags = 0;
    if (f.includes('S')) flags |= TCP_FLAG.SYN;
    if (f.includes('A')) flags |= TCP_FLAG.ACK;
    if (f.includes('F')) flags |= TCP_FLAG.FIN;
    if (f.includes('R')) flags |= TCP_FLAG.RST;
    const len = f.includes('D') ? 10 : 0;
    if (len > 0) payload = true;
    stepEndpointStates(eps[dir], eps[1 - dir], dir === 0, flags, len);
    // pcapdiag's history: each letter once per side, in order of first appearance
    const letter = flags & TCP_FLAG.RST ? 'R' : flags & TCP_FLAG.SYN ? (flags & TCP_FLAG.ACK ? 'H' : 'S') : flags & TCP_FLAG.FIN ? 'F' : len > 0 ? 'D' : 'A';
    const l = dir === 0 ? letter : letter.toLowerCase();
    if (!history.includes(l)) history += l;
  }
  return { orig: eps[0].state, resp: eps[1].state, state: zeekConnState(eps[0].state, eps[1].state, !payload, synThenRst(history)) };
}

describe('endpoint states from packets, and the conn_state they give', () => {
  const rows: [string, string[], ConnState, EndpointState, EndpointState][] = [
    ['a SYN, no answer', ['c:S', 'c:S'], 'S0', SS, I],
    ['SYN, SYN-ACK: established without the final ACK', ['c:S', 's:SA'], 'S1', E, E],
    ['a whole connection', ['c:S', 's:SA', 'c:A', 'c:AD', 's:AD', 'c:FA', 's:FA', 'c:A'], 'SF', C, C],
    ['a SYN answered by RST', ['c:S', 's:RA'], 'REJ', SS, R],
    ['a SYN, then the client gives up with a RST', ['c:S', 'c:R'], 'RSTOS0', R, I],
    ['a SYN, then a FIN from the client', ['c:S', 'c:F'], 'SH', C, I],
    ['the client aborts an established connection', ['c:S', 's:SA', 'c:A', 'c:AD', 'c:RA'], 'RSTO', R, E],
    ['the server resets after data', ['c:S', 's:SA', 'c:A', 'c:AD', 's:RA'], 'RSTR', E, R],
    ['midstream, then a RST from the responder', ['c:AD', 's:A', 's:RA'], 'RSTRH', P, R],
    ['midstream data both ways, no close', ['c:AD', 's:AD'], 'OTH', P, P],
    ['midstream, closed both ways', ['c:AD', 's:A', 's:AD', 'c:FA', 's:FA'], 'SF', C, C],
    ['a SYN-ACK whose SYN was missed', ['s:SA'], 'OTH', I, E],
    ['a SYN-ACK whose SYN was missed, then the ACK', ['s:SA', 'c:A'], 'S1', E, E],
    ['a SYN-ACK whose SYN was missed, then its FIN', ['s:SA', 's:FA'], 'SHR', I, C],
    ['a SYN-ACK whose SYN was missed, then its RST', ['s:SA', 's:R'], 'RSTRH', I, R],
    ['a RST after both FINs keeps the close', ['c:S', 's:SA', 'c:A', 'c:FA', 's:FA', 'c:R'], 'SF', C, C],
    ['the client closes, then resets', ['c:S', 's:SA', 'c:A', 'c:FA', 'c:R'], 'RSTO', R, E],
    ['the server closes and resets, then the client closes: normal after all', ['c:S', 's:SA', 'c:A', 's:FA', 's:R', 'c:FA'], 'SF', C, C],
    ['the server ACKs the SYN before its SYN-ACK', ['c:S', 's:A', 's:SA'], 'S1', E, E],
    ['the server sends data but never a SYN-ACK', ['c:S', 's:AD'], 'OTH', SS, P],
    ['the client closes, the server never does', ['c:S', 's:SA', 'c:A', 'c:FA'], 'S2', C, E],
    ['the server closes, the client never does', ['c:S', 's:SA', 'c:A', 's:FA'], 'S3', E, C],
    ['a RST each way, no payload', ['c:S', 's:SA', 'c:R', 's:R'], 'REJ', R, R],
  ];
  for (const [what, packets, want, orig, resp] of rows) {
    it(`${what} (${packets.join(' ')}) → ${want}`, () => {
      expect(run(packets)).toEqual({ orig, resp, state: want });
    });
  }
});
