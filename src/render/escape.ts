/**
 * Text from packets and file names that reaches a terminal or a document: control characters
 * (C0 such as ESC, BEL, backspace, carriage return; DEL; C1 such as CSI U+009B), bidi
 * embeddings, overrides, isolates and marks (U+202E RLO makes `gpj.exe` read `exe.jpg`), zero-width
 * characters and the line and paragraph separators are shown as escapes, so a capture cannot move
 * the cursor, set the window title, reorder what is read, or hide a character.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE_LINE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;
/** The same, tab and newline aside (multi-line documents: JUnit XML, stderr text). */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE_DOC = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;
/** What JSON.stringify leaves raw of those (it escapes C0 itself). */
const UNSAFE_JSON = /[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

const visible = (c: string): string => {
  const n = c.charCodeAt(0);
  return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
};

/** One line of terminal text: every unsafe character, newline and tab included, as \xNN or \uNNNN. */
export function escapeTerminal(s: string): string {
  return s.replace(UNSAFE_LINE, visible);
}

/** Text of several lines (a JUnit document, stderr): as escapeTerminal, but tabs and newlines kept. */
export function escapeDocument(s: string): string {
  return s.replace(UNSAFE_DOC, visible);
}

/**
 * JSON text as JSON.stringify wrote it, with the unsafe characters it leaves raw written as
 * \uNNNN escapes: the same JSON value, but a `jq`, `less` or `cat` of the output shows them
 * instead of obeying them. (They can only be inside strings, so this never touches the structure.)
 */
export function escapeJson(json: string): string {
  return json.replace(UNSAFE_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Text for a CDATA section: `]]>` would end it early, so its `>` is written as \x3e. */
export function escapeCdata(s: string): string {
  return s.replaceAll(']]>', ']]\\x3e');
}

/** Characters a POSIX shell word may hold unquoted and mean itself. */
const SHELL_SAFE = /^[A-Za-z0-9._:@%+=,/[\]-]+$/;

/**
 * A word of a suggested shell command that comes from packets (a TLS server name, a DNS name):
 * as it is when plain, else in single quotes, so pasting the command cannot run `$(…)` or `;…`
 * that a capture put there.
 */
export function shellWord(s: string): string {
  return SHELL_SAFE.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
