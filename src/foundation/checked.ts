// A check's outcome as a value: the normalized input, or why it was refused. Parsers that collect every problem
// of a file (instead of stopping at the first) use it; the reason is safe to show (no secret in it).
export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string }

export const ok = <T>(value: T): Checked<T> => ({ ok: true, value })
export const bad = (reason: string): Checked<never> => ({ ok: false, reason })
