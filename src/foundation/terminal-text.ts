// Text from outside (accounts files' fields and names, arguments, what Redis holds) is printed in messages, tables
// and logs. On a terminal, an ESC (or a C1 CSI, or a bidi override) in it would be obeyed — recolour, move the
// cursor, retitle the window, rewrite what was printed before, reorder a line — so every such character is shown
// escaped instead. The escape is JSON's own (\u001b): inside a JSON string it is the same value.

/**
 * C0 controls but tab and line feed, DEL, C1 controls (U+0080–U+009F: U+009B is a CSI on some terminals), and
 * the invisible bidi controls (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069) that make a line read otherwise.
 */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

/** `text` with each control character written as \uXXXX; anything else, line breaks and tabs included, kept. */
export function escapeControlCharacters(text: string): string {
  return text.replace(CONTROL, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** Whether `text` holds a character escapeControlCharacters would escape. */
export function hasControlCharacters(text: string): boolean {
  CONTROL.lastIndex = 0
  const found = CONTROL.test(text)
  CONTROL.lastIndex = 0
  return found
}
