// Accounts files: what the operator hands the farm. Four formats —
//   phones TXT  one phone per line; `#` starts a comment; blank lines are fine
//   bots TXT    one bot token per line, same comments
//   CSV         header with at least `phone`; optional password, proxy, api_id, api_hash, device_model,
//               system_version, app_version, lang_code, system_lang_code; RFC 4180 quoting; `,` `;` or tab.
//               Unquoted cells are trimmed, except that a password with blanks around it is an error (quote it
//               to keep them exactly): trimming would change it silently. An empty cell is an absent option.
//               A line starting with `#` is a comment before the header, and after it when the first column
//               is `phone` (no phone starts with `#`); otherwise it is a record like any other (a password may
//               start with `#`), so a would-be comment there is reported, never skipped silently.
//   JSON        an array of objects, `kind: 'user' | 'bot' | 'qr'` plus per-account options (camelCase or
//               the CSV's snake_case names); strings are taken exactly; `"password": ""` is an error (leave
//               the field out when there is none)
// Every problem is collected (file, line, what is wrong) into one AccountsFileError: a file with any bad line
// yields no accounts at all, so a half-imported file never reaches the queue. Secrets (tokens, passwords, proxy
// credentials, api_hash) are never echoed in a message; a redacted form is shown where it helps.
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { ProxyConfig } from '../mtproto/transport/transport-connection.ts';
import { parseMtproxySecret } from '../mtproto/transport/mtproxy-secret.ts';
// One bot is one account whatever its token: a second token of the same bot is a duplicate line.
import { botAccountKey } from '../queue/except-ids-registry.ts';

export type AccountsFileFormat = 'phones' | 'bots' | 'csv' | 'json';

export interface AccountSource {
  readonly file: string;
  /** 1-based line where the account starts. */
  readonly line: number;
}

/** Per-account client identity; anything absent comes from the farm's defaults. */
export interface ClientIdentity {
  readonly apiId?: number;
  readonly apiHash?: string;
  readonly deviceModel?: string;
  readonly systemVersion?: string;
  readonly appVersion?: string;
  readonly langCode?: string;
  readonly systemLangCode?: string;
}

interface AccountCommon {
  readonly source: AccountSource;
  readonly proxy?: ProxyConfig;
  readonly identity?: ClientIdentity;
}

export interface UserAccountSpec extends AccountCommon {
  readonly kind: 'user';
  /** E.164 digits, no `+`. */
  readonly phone: string;
  /** 2FA password, when the account has one. */
  readonly password?: string;
}

export interface BotAccountSpec extends AccountCommon {
  readonly kind: 'bot';
  readonly token: string;
}

export interface QrAccountSpec extends AccountCommon {
  readonly kind: 'qr';
  /** Operator's name for the slot (unique in the file when given). */
  readonly label?: string;
  /** 2FA password, if the account that scans turns out to have one. */
  readonly password?: string;
}

export type AccountSpec = UserAccountSpec | BotAccountSpec | QrAccountSpec;

export type AccountsIssueCode =
  | 'unreadable'
  | 'empty'
  | 'syntax'
  | 'missing-column'
  | 'unknown-column'
  | 'duplicate-column'
  | 'field-count'
  | 'missing-field'
  | 'unknown-field'
  | 'duplicate-field'
  | 'invalid-kind'
  | 'invalid-phone'
  | 'invalid-token'
  | 'invalid-field'
  | 'duplicate';

export interface AccountsIssue {
  readonly file: string;
  readonly line: number;
  readonly code: AccountsIssueCode;
  /** The column / field concerned, if any. */
  readonly field?: string;
  readonly message: string;
}

/** How many issues the error's message lists (all of them are in `.issues`). */
const MESSAGE_ISSUES = 50;

export class AccountsFileError extends Error {
  override readonly name = 'AccountsFileError';
  constructor(
    readonly file: string,
    readonly issues: readonly AccountsIssue[],
  ) {
    const shown = issues.slice(0, MESSAGE_ISSUES).map((i) => `  ${i.file}:${i.line}: ${i.message}`);
    if (issues.length > MESSAGE_ISSUES) shown.push(`  … and ${issues.length - MESSAGE_ISSUES} more`);
    super(`${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'}, nothing loaded\n${shown.join('\n')}`);
  }
}

// ---- field checks -----------------------------------------------------------------------------------------------

/** A check's outcome: the normalized value, or why it was refused (safe to show: no secret in it). */
export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };
const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const bad = (reason: string): Checked<never> => ({ ok: false, reason });

const BOT_TOKEN = /^\d{1,20}:[A-Za-z0-9_-]{35}$/;

/** `123456789:***` — the bot id is public, the rest is the secret. */
export function redactToken(token: string): string {
  const m = /^(\d{1,20}):/.exec(token.trim());
  return m !== null ? `${m[1]}:***` : `[redacted, ${token.trim().length} chars]`;
}

/** `+99966 (123) 45-67` → `999661234567`: E.164 digits (7-15), no letters. */
export function normalizePhone(input: string): Checked<string> {
  const raw = input.trim();
  if (raw.length === 0) return bad('phone is empty');
  if (raw.includes(':') && /[A-Za-z]/.test(raw)) return bad(`looks like a bot token (${redactToken(raw)}), not a phone`);
  if (/[A-Za-z]/.test(raw)) return bad('phone contains letters');
  const shown = /^[\d\s()+-]{1,40}$/.test(raw) ? ` "${raw}"` : '';
  const digits = raw.replace(/^\+/, '').replace(/[\s()-]/g, '');
  if (!/^\d+$/.test(digits)) return bad(`phone${shown} has characters other than digits, spaces, dashes, parentheses and a leading +`);
  if (digits.length < 7 || digits.length > 15) return bad(`phone${shown} has ${digits.length} digits; E.164 needs 7-15`);
  return ok(digits);
}

export function checkBotToken(input: string): Checked<string> {
  const token = input.trim();
  if (BOT_TOKEN.test(token)) return ok(token);
  return bad(`bot token ${redactToken(token)} is not <digits>:<35 characters of A-Z a-z 0-9 _ ->`);
}

/** `user:pass@host` → `user:***@host`: a proxy URL safe to show. */
function redactProxy(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@').replace(/([?&]secret=)[^&]*/i, '$1***');
}

/**
 * `socks5://[user:pass@]host:port`, `mtproxy://host:port?secret=…`, or a `tg://proxy?server=&port=&secret=` /
 * `https://t.me/proxy?…` link.
 */
export function parseProxyUrl(input: string): Checked<ProxyConfig> {
  const text = input.trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return bad(`proxy ${redactProxy(text)} is not a URL (socks5://host:port, mtproxy://host:port?secret=…, tg://proxy?…)`);
  }
  const port = (s: string | null): number | null => (s !== null && /^\d{1,5}$/.test(s) && +s > 0 && +s < 65536 ? +s : null);
  if (url.protocol === 'socks5:' || url.protocol === 'socks5h:') {
    const p = port(url.port);
    if (url.hostname === '' || p === null) return bad(`proxy ${redactProxy(text)} needs a host and a port`);
    const username = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    if ((username === '') !== (password === '')) return bad('socks5 proxy needs both a username and a password, or neither');
    return ok({ type: 'socks5', host: url.hostname.replace(/^\[|\]$/g, ''), port: p, ...(username !== '' ? { username, password } : {}) });
  }
  let host: string;
  let p: number | null;
  const secret = url.searchParams.get('secret');
  if (url.protocol === 'mtproxy:') {
    host = url.hostname;
    p = port(url.port);
  } else if (url.protocol === 'tg:' || (url.protocol === 'https:' && url.hostname === 't.me' && url.pathname === '/proxy')) {
    if (url.protocol === 'tg:' && url.host !== 'proxy' && url.pathname !== 'proxy' && !text.startsWith('tg://proxy')) {
      return bad(`proxy ${redactProxy(text)} is a tg:// link but not tg://proxy`);
    }
    host = url.searchParams.get('server') ?? '';
    p = port(url.searchParams.get('port'));
  } else {
    return bad(`proxy scheme ${url.protocol.replace(/:$/, '')} is not supported (socks5, mtproxy, tg://proxy)`);
  }
  if (host === '' || p === null) return bad(`proxy ${redactProxy(text)} needs a host and a port`);
  if (secret === null || secret === '') return bad('MTProxy proxy needs a secret');
  try {
    parseMtproxySecret(secret);
  } catch (err) {
    return bad(`MTProxy secret is not usable: ${(err as Error).message}`); // ProxyError never quotes the secret
  }
  return ok({ type: 'mtproxy', host: host.replace(/^\[|\]$/g, ''), port: p, secret });
}

const LANG_CODE = /^[a-z]{2,3}(?:[-_][a-z0-9]{2,8})?$/i;

/** Identity options, by their camelCase name. */
const IDENTITY_FIELDS = ['apiId', 'apiHash', 'deviceModel', 'systemVersion', 'appVersion', 'langCode', 'systemLangCode'] as const;
type IdentityField = (typeof IDENTITY_FIELDS)[number];

function checkIdentityField(field: IdentityField, raw: string): Checked<string | number> {
  const v = raw.trim();
  switch (field) {
    case 'apiId':
      return /^\d{1,10}$/.test(v) && +v > 0 && +v <= 0x7fffffff ? ok(+v) : bad(`api_id "${v.slice(0, 20)}" is not a positive 32-bit integer`);
    case 'apiHash':
      return /^[0-9a-f]{32}$/i.test(v) ? ok(v.toLowerCase()) : bad('api_hash must be 32 hex characters');
    case 'langCode':
    case 'systemLangCode':
      return LANG_CODE.test(v) ? ok(v) : bad(`${snake(field)} "${v.slice(0, 20)}" is not a language code like en or pt-br`);
    default:
      if (v.length === 0 || v.length > 128 || /[\u0000-\u001f\u007f]/.test(v)) {
        return bad(`${snake(field)} must be 1-128 printable characters`);
      }
      return ok(v);
  }
}

function snake(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function camel(field: string): string {
  return field.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

// ---- issue collection -------------------------------------------------------------------------------------------

class Collector {
  readonly issues: AccountsIssue[] = [];
  private readonly seen = new Map<string, number>();
  constructor(readonly file: string) {}

  add(line: number, code: AccountsIssueCode, message: string, field?: string): void {
    this.issues.push({ file: this.file, line, code, message, ...(field !== undefined ? { field } : {}) });
  }

  /** False (and an issue) when `key` was already seen. `shown` is the redacted form for the message. */
  unique(line: number, key: string, shown: string): boolean {
    const first = this.seen.get(key);
    if (first === undefined) {
      this.seen.set(key, line);
      return true;
    }
    this.add(line, 'duplicate', `duplicate ${shown}, first on line ${first}`);
    return false;
  }
}

type Report = (code: AccountsIssueCode, message: string, field: string) => void;

/** Options shared by CSV rows and JSON objects (camelCase names), as strings. Undefined after an issue. */
function buildCommon(
  report: Report,
  get: (field: string) => string | undefined,
): { proxy?: ProxyConfig; identity?: ClientIdentity } | undefined {
  let failed = false;
  const out: { proxy?: ProxyConfig; identity?: ClientIdentity } = {};
  const proxyText = get('proxy');
  if (proxyText !== undefined) {
    const p = parseProxyUrl(proxyText);
    if (p.ok) out.proxy = p.value;
    else {
      report('invalid-field', p.reason, 'proxy');
      failed = true;
    }
  }
  const identity: Record<string, string | number> = {};
  for (const field of IDENTITY_FIELDS) {
    const raw = get(field);
    if (raw === undefined) continue;
    const r = checkIdentityField(field, raw);
    if (r.ok) identity[field] = r.value;
    else {
      report('invalid-field', r.reason, snake(field));
      failed = true;
    }
  }
  if ((get('apiId') === undefined) !== (get('apiHash') === undefined)) {
    report('missing-field', 'api_id and api_hash go together: give both or neither', get('apiId') === undefined ? 'api_id' : 'api_hash');
    failed = true;
  }
  if (Object.keys(identity).length > 0) out.identity = identity as ClientIdentity;
  return failed ? undefined : out;
}

function checkPassword(c: Collector, line: number, raw: string | undefined): string | undefined | null {
  if (raw === undefined) return undefined;
  if (raw === '') {
    // Taken as "no password" it would send the login to the code provider: say so instead.
    c.add(line, 'invalid-field', 'password is empty: leave it out when the account has none', 'password');
    return null;
  }
  if (raw.length > 256) {
    c.add(line, 'invalid-field', 'password is longer than 256 characters', 'password');
    return null;
  }
  return raw;
}

// ---- TXT --------------------------------------------------------------------------------------------------------

function* txtLines(text: string): Generator<{ line: number; value: string }> {
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    const value = (lines[i] as string).replace(/#.*$/, '').trim(); // neither phones nor tokens contain '#'
    if (value !== '') yield { line: i + 1, value };
  }
}

function parsePhonesTxt(c: Collector, text: string): AccountSpec[] {
  const out: AccountSpec[] = [];
  for (const { line, value } of txtLines(text)) {
    const phone = normalizePhone(value);
    if (!phone.ok) c.add(line, 'invalid-phone', phone.reason, 'phone');
    else if (c.unique(line, `phone:${phone.value}`, `phone +${phone.value}`)) {
      out.push({ kind: 'user', phone: phone.value, source: { file: c.file, line } });
    }
  }
  return out;
}

function parseBotsTxt(c: Collector, text: string): AccountSpec[] {
  const out: AccountSpec[] = [];
  for (const { line, value } of txtLines(text)) {
    const token = checkBotToken(value);
    if (!token.ok) c.add(line, 'invalid-token', token.reason, 'token');
    else if (c.unique(line, botAccountKey(token.value), `bot token ${redactToken(token.value)}`)) {
      out.push({ kind: 'bot', token: token.value, source: { file: c.file, line } });
    }
  }
  return out;
}

// ---- CSV --------------------------------------------------------------------------------------------------------

const CSV_COLUMNS: ReadonlySet<string> = new Set([
  'phone',
  'password',
  'proxy',
  'api_id',
  'api_hash',
  'device_model',
  'system_version',
  'app_version',
  'lang_code',
  'system_lang_code',
]);

interface CsvRecord {
  readonly line: number;
  readonly fields: string[];
  /** Per field: unquoted, with blanks trimmed off. */
  readonly trimmed: boolean[];
}

function detectDelimiter(firstLine: string): string {
  const counts = [',', ';', '\t'].map((d) => [d, firstLine.split(d).length] as const);
  counts.sort((a, b) => b[1] - a[1]);
  return (counts[0] as readonly [string, number])[0];
}

/** RFC 4180 records with their starting line; quoted fields may hold delimiters, `""` and newlines. */
function csvRecords(c: Collector, text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const firstLine = text.split(/\r\n|\r|\n/).find((l) => l.trim() !== '' && !l.startsWith('#')) ?? '';
  const delim = detectDelimiter(firstLine);
  // After the header, `#` lines are comments only where no record can start with `#` (see the file's header).
  let hashComments = false;
  let i = 0;
  let line = 1;
  while (i < text.length) {
    // record start: skip blank lines and whole-line comments
    if (text[i] === '\n' || text[i] === '\r') {
      if (text[i] === '\r' && text[i + 1] === '\n') i++;
      i++;
      line++;
      continue;
    }
    if (text[i] === '#' && (records.length === 0 || hashComments)) {
      while (i < text.length && text[i] !== '\n' && text[i] !== '\r') i++;
      continue;
    }
    const start = line;
    const fields: string[] = [];
    const trimmed: boolean[] = [];
    let broken = false;
    for (;;) {
      let value = '';
      let cut = false;
      let j = i;
      while (text[j] === ' ' || (text[j] === '\t' && delim !== '\t')) j++; // blanks before an opening quote
      if (text[j] === '"') {
        i = j + 1;
        for (;;) {
          if (i >= text.length) {
            c.add(start, 'syntax', 'a quoted field is never closed');
            return records;
          }
          const ch = text[i] as string;
          if (ch === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (ch === '\n' || (ch === '\r' && text[i + 1] !== '\n')) line++;
          value += ch;
          i++;
        }
        // after the closing quote only a delimiter or the end of the record may follow
        let trailing = '';
        while (i < text.length && text[i] !== delim && text[i] !== '\n' && text[i] !== '\r') trailing += text[i++];
        if (trailing.trim() !== '') broken = true;
      } else {
        while (i < text.length && text[i] !== delim && text[i] !== '\n' && text[i] !== '\r') {
          if (text[i] === '"') broken = true;
          value += text[i++];
        }
        cut = value !== value.trim();
        value = value.trim();
      }
      fields.push(value);
      trimmed.push(cut);
      if (text[i] === delim) {
        i++;
        continue;
      }
      break; // end of line or of text
    }
    if (broken) c.add(start, 'syntax', 'stray quote: quote the whole field and double the quotes inside it');
    else {
      records.push({ line: start, fields, trimmed });
      if (records.length === 1) hashComments = fields[0]?.trim().toLowerCase() === 'phone';
    }
  }
  return records;
}

function parseCsv(c: Collector, text: string): AccountSpec[] {
  const records = csvRecords(c, text);
  const header = records.shift();
  if (header === undefined) return [];
  const columns = header.fields.map((f) => f.trim().toLowerCase());
  const index = new Map<string, number>();
  columns.forEach((col, at) => {
    if (!CSV_COLUMNS.has(col)) {
      c.add(header.line, 'unknown-column', `unknown column "${col.slice(0, 40)}" (known: ${[...CSV_COLUMNS].join(', ')})`, col);
    } else if (index.has(col)) c.add(header.line, 'duplicate-column', `column "${col}" appears twice`, col);
    else index.set(col, at);
  });
  if (!index.has('phone')) {
    c.add(header.line, 'missing-column', 'the header has no "phone" column', 'phone');
    return [];
  }
  const out: AccountSpec[] = [];
  for (const rec of records) {
    if (rec.fields.length !== columns.length) {
      c.add(rec.line, 'field-count', `${rec.fields.length} fields, the header has ${columns.length}`);
      continue;
    }
    const get = (name: string): string | undefined => {
      const at = index.get(snake(name));
      if (at === undefined) return undefined;
      const v = rec.fields[at] as string;
      return v === '' ? undefined : v; // an empty cell is an absent option
    };
    const phone = normalizePhone(get('phone') ?? '');
    if (!phone.ok) c.add(rec.line, 'invalid-phone', phone.reason, 'phone');
    const passwordAt = index.get('password');
    const padded = passwordAt !== undefined && rec.trimmed[passwordAt] === true;
    if (padded) c.add(rec.line, 'invalid-field', 'password has blanks around it: quote the cell to keep them exactly, or remove them', 'password');
    const password = padded ? null : checkPassword(c, rec.line, get('password'));
    const common = buildCommon((code, msg, field) => c.add(rec.line, code, msg, field), get);
    // a duplicate is reported even when the row has other problems: one pass shows everything
    const unique = phone.ok && c.unique(rec.line, `phone:${phone.value}`, `phone +${phone.value}`);
    if (!phone.ok || !unique || password === null || common === undefined) continue;
    out.push({
      kind: 'user',
      phone: phone.value,
      ...(password !== undefined ? { password } : {}),
      ...common,
      source: { file: c.file, line: rec.line },
    });
  }
  return out;
}

// ---- JSON (with line numbers) -----------------------------------------------------------------------------------

type JsonNode = { readonly line: number } & (
  | { readonly t: 'object'; readonly entries: readonly { key: string; line: number; node: JsonNode }[] }
  | { readonly t: 'array'; readonly items: readonly JsonNode[] }
  | { readonly t: 'string'; readonly v: string }
  | { readonly t: 'number'; readonly v: number }
  | { readonly t: 'boolean'; readonly v: boolean }
  | { readonly t: 'null' }
);

class JsonSyntax extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

/** A small JSON parser that keeps the line of every value and key (JSON.parse gives neither). */
class LocatingJsonParser {
  private i = 0;
  private line = 1;
  constructor(private readonly s: string) {}

  parse(): JsonNode {
    const node = this.value();
    this.ws();
    if (this.i < this.s.length) throw new JsonSyntax(this.line, 'unexpected text after the top-level value');
    return node;
  }

  private ws(): void {
    for (; this.i < this.s.length; this.i++) {
      const ch = this.s[this.i];
      if (ch === '\n') this.line++;
      else if (ch !== ' ' && ch !== '\t' && ch !== '\r') break;
    }
  }

  private value(): JsonNode {
    this.ws();
    const line = this.line;
    const ch = this.s[this.i];
    if (ch === '{') return this.object();
    if (ch === '[') return this.array();
    if (ch === '"') return { line, t: 'string', v: this.string() };
    const lit = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(this.s.slice(this.i, this.i + 64));
    if (lit === null) {
      throw new JsonSyntax(line, ch === undefined ? 'unexpected end of file' : `unexpected character ${JSON.stringify(ch)}`);
    }
    this.i += lit[0].length;
    if (lit[0] === 'null') return { line, t: 'null' };
    if (lit[0] === 'true' || lit[0] === 'false') return { line, t: 'boolean', v: lit[0] === 'true' };
    return { line, t: 'number', v: Number(lit[0]) };
  }

  private string(): string {
    const start = this.line;
    let out = '';
    this.i++; // opening quote
    for (;;) {
      const ch = this.s[this.i++];
      if (ch === undefined || ch === '\n') throw new JsonSyntax(start, 'a string is never closed');
      if (ch === '"') return out;
      if (ch < ' ') throw new JsonSyntax(this.line, 'control character in a string');
      if (ch !== '\\') {
        out += ch;
        continue;
      }
      const esc = this.s[this.i++];
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (esc !== undefined && esc in simple) out += simple[esc];
      else if (esc === 'u' && /^[0-9a-fA-F]{4}$/.test(this.s.slice(this.i, this.i + 4))) {
        out += String.fromCharCode(parseInt(this.s.slice(this.i, this.i + 4), 16));
        this.i += 4;
      } else throw new JsonSyntax(this.line, 'bad escape in a string');
    }
  }

  private array(): JsonNode {
    const line = this.line;
    this.i++;
    const items: JsonNode[] = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return { line, t: 'array', items };
    }
    for (;;) {
      items.push(this.value());
      this.ws();
      const ch = this.s[this.i++];
      if (ch === ']') return { line, t: 'array', items };
      if (ch !== ',') throw new JsonSyntax(this.line, "expected ',' or ']' in an array");
    }
  }

  private object(): JsonNode {
    const line = this.line;
    this.i++;
    const entries: { key: string; line: number; node: JsonNode }[] = [];
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return { line, t: 'object', entries };
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') throw new JsonSyntax(this.line, 'expected a double-quoted property name');
      const keyLine = this.line;
      const key = this.string();
      this.ws();
      if (this.s[this.i++] !== ':') throw new JsonSyntax(this.line, "expected ':' after a property name");
      entries.push({ key, line: keyLine, node: this.value() });
      this.ws();
      const ch = this.s[this.i++];
      if (ch === '}') return { line, t: 'object', entries };
      if (ch !== ',') throw new JsonSyntax(this.line, "expected ',' or '}' in an object");
    }
  }
}

/** JSON fields per kind (camelCase; the snake_case spelling is accepted too). */
const JSON_COMMON = ['proxy', ...IDENTITY_FIELDS];
const JSON_FIELDS: Record<AccountSpec['kind'], ReadonlySet<string>> = {
  user: new Set(['kind', 'phone', 'password', ...JSON_COMMON]),
  bot: new Set(['kind', 'token', ...JSON_COMMON]),
  qr: new Set(['kind', 'label', 'password', ...JSON_COMMON]),
};
/** Fields whose value must not appear in a message. */
const SECRET_FIELDS: ReadonlySet<string> = new Set(['password', 'token', 'apiHash', 'proxy']);

function parseJson(c: Collector, text: string): AccountSpec[] {
  let root: JsonNode;
  try {
    root = new LocatingJsonParser(text).parse();
  } catch (err) {
    if (!(err instanceof JsonSyntax)) throw err;
    c.add(err.line, 'syntax', `JSON: ${err.message}`);
    return [];
  }
  if (root.t !== 'array') {
    c.add(root.line, 'syntax', 'the file must be a JSON array of account objects');
    return [];
  }
  const out: AccountSpec[] = [];
  for (const item of root.items) {
    const spec = jsonAccount(c, item);
    if (spec !== undefined) out.push(spec);
  }
  return out;
}

function jsonAccount(c: Collector, item: JsonNode): AccountSpec | undefined {
  const line = item.line;
  if (item.t !== 'object') {
    c.add(line, 'syntax', 'each account must be a JSON object');
    return undefined;
  }
  const values = new Map<string, { line: number; value: string }>();
  let failed = false;
  const kindEntry = item.entries.find((e) => e.key === 'kind');
  const kind = kindEntry?.node.t === 'string' ? kindEntry.node.v : undefined;
  if (kind !== 'user' && kind !== 'bot' && kind !== 'qr') {
    c.add(kindEntry?.line ?? line, kindEntry === undefined ? 'missing-field' : 'invalid-kind', `"kind" must be "user", "bot" or "qr"`, 'kind');
    return undefined;
  }
  const allowed = JSON_FIELDS[kind];
  for (const { key, line: keyLine, node } of item.entries) {
    const name = camel(key);
    if (!allowed.has(name)) {
      c.add(keyLine, 'unknown-field', `unknown field "${key.slice(0, 40)}" for a ${kind} account`, key);
      failed = true;
      continue;
    }
    if (values.has(name) || (name === 'kind' && node !== kindEntry?.node)) {
      c.add(keyLine, 'duplicate-field', `field "${key}" is given twice`, key);
      failed = true;
      continue;
    }
    let value: string | undefined;
    if (node.t === 'string') value = node.v;
    else if (node.t === 'number' && name === 'apiId') value = String(node.v);
    else if (node.t === 'number' && name === 'phone') {
      c.add(keyLine, 'invalid-phone', 'phone must be a string (a number loses leading zeros and the +)', 'phone');
      failed = true;
      continue;
    }
    if (value === undefined) {
      const shown = SECRET_FIELDS.has(name) ? '' : ` (got ${node.t})`;
      c.add(keyLine, 'invalid-field', `"${key}" must be a ${name === 'apiId' ? 'number' : 'string'}${shown}`, key);
      failed = true;
      continue;
    }
    values.set(name, { line: keyLine, value });
  }
  const at = (name: string): number => values.get(name)?.line ?? line;
  const get = (name: string): string | undefined => values.get(name)?.value;
  const common = buildCommon((code, msg, field) => c.add(at(camel(field)), code, msg, field), get);
  if (common === undefined) failed = true;
  const source = { file: c.file, line };

  if (kind === 'user') {
    const phoneText = get('phone');
    if (phoneText === undefined) {
      // a phone of the wrong type was reported above
      if (!item.entries.some((e) => e.key === 'phone')) c.add(line, 'missing-field', 'a user account needs "phone"', 'phone');
      return undefined;
    }
    const phone = normalizePhone(phoneText);
    if (!phone.ok) {
      c.add(at('phone'), 'invalid-phone', phone.reason, 'phone');
      return undefined;
    }
    const password = checkPassword(c, at('password'), get('password'));
    const unique = c.unique(line, `phone:${phone.value}`, `phone +${phone.value}`);
    if (failed || !unique || password === null || common === undefined) return undefined;
    return { kind, phone: phone.value, ...(password !== undefined ? { password } : {}), ...common, source };
  }
  if (kind === 'bot') {
    const tokenText = get('token');
    if (tokenText === undefined) {
      if (!item.entries.some((e) => e.key === 'token')) c.add(line, 'missing-field', 'a bot account needs "token"', 'token');
      return undefined;
    }
    const token = checkBotToken(tokenText);
    if (!token.ok) {
      c.add(at('token'), 'invalid-token', token.reason, 'token');
      return undefined;
    }
    const unique = c.unique(line, botAccountKey(token.value), `bot token ${redactToken(token.value)}`);
    if (failed || !unique || common === undefined) return undefined;
    return { kind, token: token.value, ...common, source };
  }
  const label = get('label');
  if (label !== undefined && (label.trim() === '' || label.length > 64)) {
    c.add(at('label'), 'invalid-field', 'label must be 1-64 characters', 'label');
    return undefined;
  }
  const password = checkPassword(c, at('password'), get('password'));
  const unique = label === undefined || c.unique(line, `qr:${label}`, `QR label "${label}"`);
  if (failed || !unique || password === null || common === undefined) return undefined;
  return { kind, ...(label !== undefined ? { label } : {}), ...(password !== undefined ? { password } : {}), ...common, source };
}

// ---- entry points -----------------------------------------------------------------------------------------------

/** From the extension; a `.txt` (or anything else) is a bots file when its first entry looks like a token. */
export function detectFormat(fileName: string, text: string): AccountsFileFormat {
  const ext = extname(fileName).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.json') return 'json';
  const first = txtLines(text).next();
  return !first.done && /^\d+:/.test(first.value.value) ? 'bots' : 'phones';
}

export interface ParseAccountsOptions {
  /** Shown in issues; default `accounts`. */
  readonly file?: string;
  /** Default: detectFormat(file, text). */
  readonly format?: AccountsFileFormat;
}

/** Every account in the text, or AccountsFileError with every problem found. */
export function parseAccounts(text: string, options: ParseAccountsOptions = {}): AccountSpec[] {
  const file = options.file ?? 'accounts';
  const body = text.replace(/^\uFEFF/, ''); // a BOM from spreadsheet exports
  const format = options.format ?? detectFormat(file, body);
  const c = new Collector(file);
  const accounts =
    format === 'phones'
      ? parsePhonesTxt(c, body)
      : format === 'bots'
        ? parseBotsTxt(c, body)
        : format === 'csv'
          ? parseCsv(c, body)
          : parseJson(c, body);
  if (c.issues.length === 0 && accounts.length === 0) c.add(1, 'empty', 'no accounts in the file');
  if (c.issues.length > 0) {
    throw new AccountsFileError(file, [...c.issues].sort((a, b) => a.line - b.line));
  }
  return accounts;
}

/** Read and parse an accounts file; the file name (not the path) is used in issues. */
export async function loadAccountsFile(path: string, options: Omit<ParseAccountsOptions, 'file'> = {}): Promise<AccountSpec[]> {
  const file = basename(path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new AccountsFileError(file, [{ file, line: 0, code: 'unreadable', message: `cannot read the file (${code})` }]);
  }
  return parseAccounts(text, { ...options, file });
}
