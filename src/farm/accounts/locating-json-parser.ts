// A small JSON parser that keeps the line of every value and key (JSON.parse gives neither), so an accounts file's
// problems name their lines. Nesting is bounded (recursion per level).
export type JsonNode = { readonly line: number } & (
  | { readonly t: 'object'; readonly entries: readonly { key: string; line: number; node: JsonNode }[] }
  | { readonly t: 'array'; readonly items: readonly JsonNode[] }
  | { readonly t: 'string'; readonly v: string }
  | { readonly t: 'number'; readonly v: number }
  | { readonly t: 'boolean'; readonly v: boolean }
  | { readonly t: 'null' }
)

export class JsonSyntax extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message)
  }
}

export class LocatingJsonParser {
  private i = 0
  private line = 1
  /** Arrays and objects open around the current position. */
  private depth = 0
  constructor(
    private readonly s: string,
    /** Deepest nesting accepted: a deeper text is refused with its line, never a stack overflow. */
    private readonly maxDepth: number,
  ) {}

  private enter(): void {
    if (++this.depth > this.maxDepth) throw new JsonSyntax(this.line, `nested deeper than ${this.maxDepth} levels`)
  }

  parse(): JsonNode {
    const node = this.value()
    this.ws()
    if (this.i < this.s.length) throw new JsonSyntax(this.line, 'unexpected text after the top-level value')
    return node
  }

  private leave(node: JsonNode): JsonNode {
    this.depth--
    return node
  }

  private ws(): void {
    for (; this.i < this.s.length; this.i++) {
      const ch = this.s[this.i]
      if (ch === '\n') this.line++
      else if (ch !== ' ' && ch !== '\t' && ch !== '\r') break
    }
  }

  private value(): JsonNode {
    this.ws()
    const line = this.line
    const ch = this.s[this.i]
    if (ch === '{') return this.object()
    if (ch === '[') return this.array()
    if (ch === '"') return { line, t: 'string', v: this.string() }
    const lit = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(
      this.s.slice(this.i, this.i + 64),
    )
    if (lit === null) {
      throw new JsonSyntax(
        line,
        ch === undefined ? 'unexpected end of file' : `unexpected character ${JSON.stringify(ch)}`,
      )
    }
    this.i += lit[0].length
    if (lit[0] === 'null') return { line, t: 'null' }
    if (lit[0] === 'true' || lit[0] === 'false') return { line, t: 'boolean', v: lit[0] === 'true' }
    return { line, t: 'number', v: Number(lit[0]) }
  }

  private string(): string {
    const start = this.line
    let out = ''
    this.i++ // opening quote
    for (;;) {
      const ch = this.s[this.i++]
      if (ch === undefined || ch === '\n') throw new JsonSyntax(start, 'a string is never closed')
      if (ch === '"') return out
      if (ch < ' ') throw new JsonSyntax(this.line, 'control character in a string')
      if (ch !== '\\') {
        out += ch
        continue
      }
      const esc = this.s[this.i++]
      const simple: Record<string, string> = {
        '"': '"',
        '\\': '\\',
        '/': '/',
        b: '\b',
        f: '\f',
        n: '\n',
        r: '\r',
        t: '\t',
      }
      if (esc !== undefined && esc in simple) out += simple[esc]
      else if (esc === 'u' && /^[0-9a-fA-F]{4}$/.test(this.s.slice(this.i, this.i + 4))) {
        out += String.fromCharCode(parseInt(this.s.slice(this.i, this.i + 4), 16))
        this.i += 4
      } else throw new JsonSyntax(this.line, 'bad escape in a string')
    }
  }

  private array(): JsonNode {
    const line = this.line
    this.enter()
    this.i++
    const items: JsonNode[] = []
    this.ws()
    if (this.s[this.i] === ']') {
      this.i++
      return this.leave({ line, t: 'array', items })
    }
    for (;;) {
      items.push(this.value())
      this.ws()
      const ch = this.s[this.i++]
      if (ch === ']') return this.leave({ line, t: 'array', items })
      if (ch !== ',') throw new JsonSyntax(this.line, "expected ',' or ']' in an array")
    }
  }

  private object(): JsonNode {
    const line = this.line
    this.enter()
    this.i++
    const entries: { key: string; line: number; node: JsonNode }[] = []
    this.ws()
    if (this.s[this.i] === '}') {
      this.i++
      return this.leave({ line, t: 'object', entries })
    }
    for (;;) {
      this.ws()
      if (this.s[this.i] !== '"') throw new JsonSyntax(this.line, 'expected a double-quoted property name')
      const keyLine = this.line
      const key = this.string()
      this.ws()
      if (this.s[this.i++] !== ':') throw new JsonSyntax(this.line, "expected ':' after a property name")
      entries.push({ key, line: keyLine, node: this.value() })
      this.ws()
      const ch = this.s[this.i++]
      if (ch === '}') return this.leave({ line, t: 'object', entries })
      if (ch !== ',') throw new JsonSyntax(this.line, "expected ',' or '}' in an object")
    }
  }
}
