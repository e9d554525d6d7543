import { TCP_FLAG } from '../decode/packet.js';

/**
 * Zeek's conn_state, computed as Zeek computes it: each endpoint of a TCP connection walks a small
 * state machine (Zeek's TCPSessionAdapter::UpdateStateMachine), and conn_state is a pure function
 * of the two endpoint states at the end (base/protocols/conn/main.zeek, conn_state()).
 */

/** Zeek's TCP endpoint states (TCP_ENDPOINT_*), as small integers: kept per endpoint, per packet. */
export const EP = {
  /** Nothing seen from this side yet (or only an ACK of the peer's SYN before its SYN-ACK). */
  INACTIVE: 0,
  /** Sent a SYN (the originator). */
  SYN_SENT: 1,
  /** The originator sent a SYN with ACK set (a reversed handshake). */
  SYN_ACK_SENT: 2,
  /** Seen mid-connection: data or ACKs, no SYN. */
  PARTIAL: 3,
  /** Handshake seen: the responder's SYN-ACK (the originator too, when its SYN was seen). */
  ESTABLISHED: 4,
  /** Sent a FIN. */
  CLOSED: 5,
  /** Sent a RST. */
  RESET: 6,
} as const;

export type EndpointState = (typeof EP)[keyof typeof EP];

export const ENDPOINT_STATE_NAMES: readonly string[] = ['inactive', 'syn-sent', 'syn-ack-sent', 'partial', 'established', 'closed', 'reset'];

/** What the state machine keeps per endpoint: its state and the one before (Zeek's prev_state). */
export interface EndpointStates {
  state: EndpointState;
  prevState: EndpointState;
}

function setState(ep: EndpointStates, s: EndpointState): void {
  if (ep.state !== s) {
    ep.prevState = ep.state;
    ep.state = s;
  }
}

/**
 * One packet's effect on the endpoint states: `ep` sent it (the originator when `isOrig`), `peer`
 * is the other side. Follows Zeek's UpdateStateMachine, less its weirds and events, and less the
 * SYN/SYN-ACK role reversal (pcapdiag assigns roles when the flow starts).
 */
export function stepEndpointStates(ep: EndpointStates, peer: EndpointStates, isOrig: boolean, flags: number, len: number): void {
  const syn = (flags & TCP_FLAG.SYN) !== 0;
  const ack = (flags & TCP_FLAG.ACK) !== 0;
  const fin = (flags & TCP_FLAG.FIN) !== 0;
  const rst = (flags & TCP_FLAG.RST) !== 0;
  switch (ep.state) {
    case EP.INACTIVE:
      if (syn) {
        if (isOrig) setState(ep, ack ? EP.SYN_ACK_SENT : EP.SYN_SENT);
        else {
          // the responder's SYN-ACK (or a simultaneous open) establishes both sides that sent a SYN
          if (peer.state === EP.SYN_SENT) setState(peer, EP.ESTABLISHED);
          setState(ep, EP.ESTABLISHED);
        }
      }
      if (fin) setState(ep, EP.CLOSED);
      if (rst) setState(ep, EP.RESET);
      if (!syn && !fin && !rst) {
        // no control flags: an ACK of the peer's SYN before the SYN-ACK leaves the responder inactive;
        // an ACK of a SYN-ACK whose SYN was missed establishes; anything else is a partial connection
        if (!isOrig && len === 0 && peer.state === EP.SYN_SENT) break;
        setState(ep, ack && peer.state === EP.ESTABLISHED ? EP.ESTABLISHED : EP.PARTIAL);
      }
      break;
    case EP.SYN_SENT:
    case EP.SYN_ACK_SENT:
      if (fin) setState(ep, EP.CLOSED);
      if (rst) setState(ep, EP.RESET);
      break;
    case EP.ESTABLISHED:
    case EP.PARTIAL:
      if (syn && !ack && ep.state === EP.PARTIAL && peer.state === EP.INACTIVE) setState(ep, EP.SYN_SENT);
      if (fin && !rst) {
        setState(ep, EP.CLOSED);
        // the peer's FIN then RST, and now this side's FIN: a normal close after all
        if (peer.state === EP.RESET && peer.prevState === EP.CLOSED) setState(peer, EP.CLOSED);
      }
      if (rst) setState(ep, EP.RESET);
      break;
    case EP.CLOSED:
      // a RST after both sides' FINs does not undo the close
      if (rst && peer.state !== EP.CLOSED) setState(ep, EP.RESET);
      break;
    case EP.RESET:
      break;
  }
}

/** Zeek's conn_state codes, with the meaning Zeek's conn.log documentation gives each. */
export const CONN_STATES = {
  S0: 'Connection attempt seen, no reply.',
  S1: 'Connection established, not terminated.',
  SF: 'Normal establishment and termination.',
  REJ: 'Connection attempt rejected.',
  S2: 'Connection established and close attempt by originator seen (but no reply from responder).',
  S3: 'Connection established and close attempt by responder seen (but no reply from originator).',
  RSTO: 'Connection established, originator aborted (sent a RST).',
  RSTR: 'Responder sent a RST.',
  RSTOS0: 'Originator sent a SYN followed by a RST, we never saw a SYN-ACK from the responder.',
  RSTRH: 'Responder sent a SYN ACK followed by a RST, we never saw a SYN from the (purported) originator.',
  SH: 'Originator sent a SYN followed by a FIN, we never saw a SYN ACK from the responder (hence the connection was "half" open).',
  SHR: 'Responder sent a SYN ACK followed by a FIN, we never saw a SYN from the originator.',
  OTH: 'No SYN seen, just midstream traffic (one example of this is a "partial connection" that was not later closed).',
} as const;

export type ConnState = keyof typeof CONN_STATES;

/**
 * Zeek's conn_state from the two endpoint states. `noPayload`: neither side sent payload (Zeek:
 * both sizes 0), which makes a RST from each side a rejection. `synThenRst`: the history matches
 * Zeek's `^S[^HAFGIQ]*R` (the originator's SYN, then its RST with no handshake, ACK or FIN of its
 * own in between), which tells RSTOS0 from OTH.
 */
export function zeekConnState(orig: EndpointState, resp: EndpointState, noPayload: boolean, synThenRst: boolean): ConnState {
  const origInactive = orig === EP.INACTIVE || orig === EP.PARTIAL;
  const respInactive = resp === EP.INACTIVE || resp === EP.PARTIAL;
  if (resp === EP.RESET) {
    if (orig === EP.SYN_SENT || orig === EP.SYN_ACK_SENT || (orig === EP.RESET && noPayload)) return 'REJ';
    return origInactive ? 'RSTRH' : 'RSTR';
  }
  if (orig === EP.RESET) {
    if (respInactive) return synThenRst ? 'RSTOS0' : 'OTH';
    return 'RSTO';
  }
  if (resp === EP.CLOSED && orig === EP.CLOSED) return 'SF';
  if (orig === EP.CLOSED) return respInactive ? 'SH' : 'S2';
  if (resp === EP.CLOSED) return origInactive ? 'SHR' : 'S3';
  if (orig === EP.SYN_SENT && resp === EP.INACTIVE) return 'S0';
  if (orig === EP.ESTABLISHED && resp === EP.ESTABLISHED) return 'S1';
  return 'OTH';
}

/** Zeek's `^\^?S[^HAFGIQ]*R` on pcapdiag's history (which has no ^, G, I or Q letters). */
export const synThenRst = (history: string): boolean => /^S[^HAFGIQ]*R/.test(history);
