// The shape every TL object has at run time: a constructor name in `_` and its fields by camelCase name.
// Generated types narrow this per constructor; the generated codec works on this shape so one codec can
// also write an object of another layer (the test DC answers old-layer clients with current objects).
export interface TlValue {
  readonly _: string
  readonly [field: string]: unknown
}
