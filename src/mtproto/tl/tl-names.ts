// How TL names become TypeScript names, shared by the code generator and the tests that build samples.

/** `phone_code_hash` → `phoneCodeHash` (the property name of a TL field). */
export function fieldName(tlName: string): string {
  return tlName.replace(/_([a-z0-9])/gi, (_, c: string) => c.toUpperCase())
}

/** `auth.sentCode` → `auth_sentCode`: a JS identifier fragment for a TL constructor or type name. */
export function identOf(tlName: string): string {
  return tlName.replace(/\./g, '_')
}

/** `auth.SentCode` → { ns: 'auth', name: 'SentCode' }. */
export function splitNamespace(tlName: string): { ns: string | null; name: string } {
  const dot = tlName.lastIndexOf('.')
  return dot < 0 ? { ns: null, name: tlName } : { ns: tlName.slice(0, dot), name: tlName.slice(dot + 1) }
}

export function upperFirst(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1)
}
