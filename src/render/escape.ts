/**
 * Makes a packet-derived string safe for a terminal: C0/C1 control characters (ESC, CSI, BEL,
 * backspace, carriage return…) become \xNN, so a capture cannot move the cursor, clear the
 * screen or set the window title.
 */
export function escapeTerminal(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
