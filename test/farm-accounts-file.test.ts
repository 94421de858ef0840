// Accounts files: every format, every kind of error with its line, all-or-nothing, secrets never echoed.
import { strict as assert } from 'node:assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import {
  AccountsFileError,
  loadAccountsFile,
  checkPhone,
  parseAccounts,
  redactToken,
  type AccountSpec,
  type AccountsFileFormat,
  type AccountsIssue,
} from '../src/farm/accounts-file.ts'

const TOKEN_A = `1000000001:${'A'.repeat(34)}a`
const TOKEN_B = `1000000002:${'b'.repeat(33)}_-`
const SECRET_PART = 'A'.repeat(34)

/** The issues of a file that must fail, as [line, code] pairs, with the error's text checked for secrets. */
function issuesOf(text: string, format: AccountsFileFormat, secrets: readonly string[] = []): AccountsIssue[] {
  let caught: unknown
  try {
    parseAccounts(text, { file: `bad.${format}`, format })
  } catch (err) {
    caught = err
  }
  assert.ok(caught instanceof AccountsFileError, 'expected AccountsFileError')
  const all = `${caught.message}\n${JSON.stringify(caught.issues)}`
  for (const s of secrets) assert.ok(!all.includes(s), `secret "${s}" echoed in: ${all}`)
  for (const i of caught.issues) {
    assert.equal(i.file, `bad.${format}`)
    assert.ok(caught.message.includes(`bad.${format}:${i.line}: ${i.message}`))
  }
  return [...caught.issues]
}

const pairs = (issues: AccountsIssue[]): [number, string][] => issues.map((i) => [i.line, i.code])

describe('accounts files', () => {
  it('normalizes phones to E.164 digits and refuses letters and wrong lengths', () => {
    assert.deepEqual(checkPhone(' +99966 (1) 23-45 '), { ok: true, value: '9996612345' })
    assert.equal(checkPhone('99966a12345').ok, false)
    assert.equal(checkPhone('123456').ok, false)
    assert.equal(checkPhone('1234567').ok, true)
    assert.equal(checkPhone('1234567890123456').ok, false)
    assert.equal(checkPhone('99966+12345').ok, false)
    assert.equal(redactToken(TOKEN_A), '1000000001:***')
  })

  it('reads a phones TXT with comments and blank lines, keeping line numbers', () => {
    const accounts = parseAccounts('# header\n\n+99966 1 0001\r\n99966-1-0002  # note\n\n(99966) 2 0003\n', {
      file: 'p.txt',
    })
    assert.deepEqual(
      accounts.map((a) => [a.kind, a.kind === 'user' ? a.phone : '', a.source.line]),
      [
        ['user', '9996610001', 3],
        ['user', '9996610002', 4],
        ['user', '9996620003', 6],
      ],
    )
  })

  it('collects every phones TXT error with its line, and returns nothing', () => {
    const text = ['99966 1 0001', '99966 1 000x', '12345', '', '+99966-1-0001', '99966.1.0003', `${TOKEN_A}`].join('\n')
    const issues = issuesOf(text, 'phones', [SECRET_PART])
    assert.deepEqual(pairs(issues), [
      [2, 'invalid-phone'],
      [3, 'invalid-phone'],
      [5, 'duplicate'],
      [6, 'invalid-phone'],
      [7, 'invalid-phone'],
    ])
    assert.match(issues[0]?.message ?? '', /letters/)
    assert.match(issues[1]?.message ?? '', /5 digits/)
    assert.match(issues[2]?.message ?? '', /first on line 1/)
    assert.match(issues[4]?.message ?? '', /bot token \(1000000001:\*\*\*\)/)
  })

  it('reads a bots TXT and checks the token format without echoing tokens', () => {
    const ok = parseAccounts(`# bots\n${TOKEN_A}\n\n${TOKEN_B}\n`, { file: 'bots.txt' })
    assert.deepEqual(
      ok.map((a) => [a.kind, a.source.line]),
      [
        ['bot', 2],
        ['bot', 4],
      ],
    )
    const short = `1000000003:${'C'.repeat(20)}`
    const noId = `${'D'.repeat(40)}`
    const badChar = `1000000004:${'E'.repeat(34)}!`
    const issues = issuesOf([TOKEN_A, short, noId, TOKEN_A, badChar].join('\n'), 'bots', [
      SECRET_PART,
      'C'.repeat(20),
      'D'.repeat(40),
      'E'.repeat(34),
    ])
    assert.deepEqual(pairs(issues), [
      [2, 'invalid-token'],
      [3, 'invalid-token'],
      [4, 'duplicate'],
      [5, 'invalid-token'],
    ])
    assert.match(issues[0]?.message ?? '', /1000000003:\*\*\*/)
    assert.match(issues[1]?.message ?? '', /\[redacted, 40 chars\]/)
    assert.match(issues[2]?.message ?? '', /1000000001:\*\*\*, first on line 1/)
    // Another token of the same bot (a revoked and a new one) is the same account: one job, one session.
    const rotated = `1000000001:${'F'.repeat(35)}`
    const again = issuesOf([TOKEN_A, rotated].join('\n'), 'bots', [SECRET_PART, 'F'.repeat(35)])
    assert.deepEqual(pairs(again), [[2, 'duplicate']])
  })

  it('reads CSV with quoting (delimiters, doubled quotes, newlines in a field), options, CRLF, BOM and ;', () => {
    const csv =
      '\uFEFFPhone,password,proxy,api_id,api_hash,device_model,lang_code\r\n' +
      '+99966 1 3001,,,,,,\r\n' +
      '\r\n' +
      '# a comment line\r\n' +
      '+99966 1 3002,"pa,ss ""x""\r\nline2",socks5://u:p@127.0.0.1:1080,7,AbCdEf0123456789abcdef0123456789,Pixel 8,pt-br\r\n' +
      ' +99966 1 3003 , "  spaced  " ,,,,,\r\n'
    const accounts = parseAccounts(csv, { file: 'a.csv' })
    assert.equal(accounts.length, 3)
    const [a, b, c] = accounts as [AccountSpec, AccountSpec, AccountSpec]
    assert.deepEqual(a, { kind: 'user', phone: '9996613001', source: { file: 'a.csv', line: 2 } })
    assert.deepEqual(b, {
      kind: 'user',
      phone: '9996613002',
      password: 'pa,ss "x"\r\nline2',
      proxy: { type: 'socks5', host: '127.0.0.1', port: 1080, username: 'u', password: 'p' },
      identity: { apiId: 7, apiHash: 'abcdef0123456789abcdef0123456789', deviceModel: 'Pixel 8', langCode: 'pt-br' },
      source: { file: 'a.csv', line: 5 },
    })
    assert.equal(c.kind === 'user' && c.password, '  spaced  ')
    assert.equal(c.source.line, 7, 'the quoted newline in line 5 counted')
    const semi = parseAccounts('phone;password\n99966 1 3004;"a;b"\n', { file: 's.csv' })
    assert.equal(semi[0]?.kind === 'user' && semi[0].password, 'a;b')
  })

  it('reports every CSV problem with its line: header, counts, quotes, fields, duplicates', () => {
    const header = issuesOf('phone,pasword,proxy,proxy\n99966 1 4001,x,,\n', 'csv')
    assert.deepEqual(pairs(header), [
      [1, 'unknown-column'],
      [1, 'duplicate-column'],
    ])
    assert.deepEqual(pairs(issuesOf('password\nsecret-one\n', 'csv', ['secret-one'])), [[1, 'missing-column']])
    const rows = [
      'phone,password,proxy,api_id,api_hash,lang_code',
      '99966 1 4001,hunter2-secret,,,,', // 2 ok
      '99966 1 4002,,,', // 3 field count
      '99966 1 4003,"never closed,,,,', // 4 … unterminated, reported at its start
    ].join('\n')
    assert.deepEqual(pairs(issuesOf(rows, 'csv', ['hunter2-secret'])), [
      [3, 'field-count'],
      [4, 'syntax'],
    ])
    const fields = [
      'phone,password,proxy,api_id,api_hash,lang_code,device_model',
      '99966 1 5001,pw-one-secret,socks5://bob:proxy-pass-secret@,,,,', // 2 proxy without host/port
      '99966x5002,,,,,,', // 3 letters
      '99966 1 5003,,,12,not-a-hash-secret-value,,', // 4 api_hash
      '99966 1 5004,,,abc,0123456789abcdef0123456789abcdef,,', // 5 api_id
      '99966 1 5005,,,12,,,', // 6 api_id without api_hash
      '99966 1 5006,,,,,english!,', // 7 lang_code
      '99966 1 5007,,tg://proxy?server=h&port=443&secret=ee00112233445566778899aabbccddeeff6578616d706c652e636f6d,,,,', // 8
      '99966 1 5008,,ftp://h:21,,,,', // 9 scheme
      '99966 1 5001,,,,,,', // 10 duplicate of line 2 (reported although line 2 has another problem)
      '99966 1 5009,"pw"x,,,,,', // 11 stray quote
      '99966 1 5010,,,,,,a\u0001b', // 12 control char in device_model
    ].join('\n')
    const issues = issuesOf(fields, 'csv', [
      'pw-one-secret',
      'proxy-pass-secret',
      'not-a-hash-secret-value',
      '6578616d706c65',
    ])
    assert.deepEqual(pairs(issues), [
      [2, 'invalid-field'],
      [3, 'invalid-phone'],
      [4, 'invalid-field'],
      [5, 'invalid-field'],
      [6, 'missing-field'],
      [7, 'invalid-field'],
      [8, 'invalid-field'],
      [9, 'invalid-field'],
      [10, 'duplicate'],
      [11, 'syntax'],
      [12, 'invalid-field'],
    ])
    assert.deepEqual(
      issues.map((i) => i.field),
      [
        'proxy',
        'phone',
        'api_hash',
        'api_id',
        'api_hash',
        'lang_code',
        'proxy',
        'proxy',
        undefined,
        undefined,
        'device_model',
      ],
    )
    assert.match(issues[0]?.message ?? '', /bob:\*\*\*@/)
    assert.match(issues[6]?.message ?? '', /fake-TLS/)
    const dup = issuesOf('phone\n99966 1 6001\n99966 1 6002\n+99966 1 6001\n', 'csv')
    assert.deepEqual(pairs(dup), [[4, 'duplicate']])
  })

  it('never changes or drops a CSV password silently: blanks around an unquoted one, or a leading #', () => {
    // Unquoted blanks would be trimmed off (a different password): an error; quoted, they are kept.
    const padded = issuesOf(
      'phone,password\n+99966 1 8001, secret one\n+99966 1 8002,"  kept  "\n+99966 1 8003,\t\n',
      'csv',
      ['secret one'],
    )
    assert.deepEqual(pairs(padded), [
      [2, 'invalid-field'],
      [4, 'invalid-field'],
    ])
    assert.match(padded[0]?.message ?? '', /password has blanks around it: quote the cell/)
    const quoted = parseAccounts('phone,password\n+99966 1 8002,"  kept  "\n', { file: 'a.csv' })
    assert.deepEqual(
      quoted.map((a) => (a.kind === 'user' ? a.password : '')),
      ['  kept  '],
    )
    // A first column other than phone may start with '#': such a line is a record, not a comment.
    const hashFirst = parseAccounts(
      '# comments before the header are fine\npassword,phone\n#hash-first,+99966 1 8004\n',
      { file: 'a.csv' },
    )
    assert.deepEqual(
      hashFirst.map((a) => [a.kind === 'user' ? a.password : '', a.source.line]),
      [['#hash-first', 3]],
    )
    // …so a would-be comment there is reported, not skipped.
    assert.deepEqual(pairs(issuesOf('password,phone\n# a note\npw,+99966 1 8005\n', 'csv')), [[2, 'field-count']])
    // With phone first, a '#' line after the header is a comment (no phone starts with '#').
    assert.equal(parseAccounts('phone,password\n# note, with a comma\n+99966 1 8006,pw\n', { file: 'a.csv' }).length, 1)
  })

  it('refuses a JSON password that is an empty string instead of dropping it', () => {
    const issues = issuesOf(
      '[\n  { "kind": "user", "phone": "+99966 1 8101",\n    "password": "" },\n  { "kind": "qr", "password": "" }\n]',
      'json',
    )
    assert.deepEqual(pairs(issues), [
      [3, 'invalid-field'],
      [4, 'invalid-field'],
    ])
    assert.match(issues[0]?.message ?? '', /password is empty/)
  })

  it('reads JSON accounts of every kind with both spellings of options', () => {
    const json = `[
  { "kind": "user", "phone": "+99966 1 7001", "password": "pw" },
  { "kind": "bot", "token": "${TOKEN_A}", "api_id": 5, "api_hash": "0123456789abcdef0123456789abcdef" },
  {
    "kind": "qr",
    "label": "desk",
    "deviceModel": "Desktop",
    "proxy": "mtproxy://10.0.0.1:443?secret=00112233445566778899aabbccddeeff"
  },
  { "kind": "qr" }
]`
    const accounts = parseAccounts(json, { file: 'a.json' })
    assert.deepEqual(
      accounts.map((a) => [a.kind, a.source.line]),
      [
        ['user', 2],
        ['bot', 3],
        ['qr', 4],
        ['qr', 10],
      ],
    )
    assert.deepEqual(accounts[1], {
      kind: 'bot',
      token: TOKEN_A,
      identity: { apiId: 5, apiHash: '0123456789abcdef0123456789abcdef' },
      source: { file: 'a.json', line: 3 },
    })
    assert.deepEqual(accounts[2]?.proxy, {
      type: 'mtproxy',
      host: '10.0.0.1',
      port: 443,
      secret: '00112233445566778899aabbccddeeff',
    })
  })

  it('reports JSON problems at the line of the element or field', () => {
    assert.deepEqual(
      pairs(issuesOf('[\n  { "kind": "user", "phone": "99966 1 8001" },\n  { "kind": "user" "phone": 1 }\n]', 'json')),
      [[3, 'syntax']],
    )
    assert.deepEqual(pairs(issuesOf('{ "kind": "user" }', 'json')), [[1, 'syntax']])
    assert.deepEqual(pairs(issuesOf('[\n  { "kind": "user", "phone": "99966 1 8001",\n', 'json')), [[3, 'syntax']])
    const text = `[
  { "kind": "user", "phone": "99966 1 8001" },
  "not an object",
  { "phone": "99966 1 8002" },
  { "kind": "robot" },
  { "kind": "user", "phone": 9996618003 },
  {
    "kind": "user",
    "phone": "99966 1 8004",
    "tokn": "x",
    "password": 12345678
  },
  { "kind": "bot", "token": "1000000009:${'Z'.repeat(34)}" },
  { "kind": "bot", "token": "${TOKEN_A}" },
  { "kind": "bot", "token": "${TOKEN_A}" },
  { "kind": "user", "phone": "99966 1 8001", "apiId": 1, "api_id": 2, "apiHash": "0123456789abcdef0123456789abcdef" },
  { "kind": "qr", "label": "x", "phone": "99966 1 8005" },
  { "kind": "qr", "label": "a" },
  { "kind": "qr", "label": "a" },
  { "kind": "user" }
]`
    const issues = issuesOf(text, 'json', [SECRET_PART, 'Z'.repeat(34), '12345678'])
    assert.deepEqual(pairs(issues), [
      [3, 'syntax'],
      [4, 'missing-field'],
      [5, 'invalid-kind'],
      [6, 'invalid-phone'],
      [10, 'unknown-field'],
      [11, 'invalid-field'],
      [13, 'invalid-token'],
      [15, 'duplicate'],
      [16, 'duplicate-field'],
      [16, 'duplicate'],
      [17, 'unknown-field'],
      [19, 'duplicate'],
      [20, 'missing-field'],
    ])
  })

  it('treats a file without accounts as an error, and reports an unreadable file', async () => {
    assert.deepEqual(pairs(issuesOf('# nothing\n\n', 'phones')), [[1, 'empty']])
    assert.deepEqual(pairs(issuesOf('phone\n', 'csv')), [[1, 'empty']])
    assert.deepEqual(pairs(issuesOf('[]', 'json')), [[1, 'empty']])
    const dir = await mkdtemp(join(tmpdir(), 'gramfarm-accounts-'))
    try {
      await assert.rejects(loadAccountsFile(join(dir, 'missing.txt')), (e: unknown) => {
        assert.ok(e instanceof AccountsFileError && e.issues[0]?.code === 'unreadable')
        return true
      })
      await writeFile(join(dir, 'bots.txt'), `${TOKEN_B}\n`)
      assert.equal((await loadAccountsFile(join(dir, 'bots.txt')))[0]?.kind, 'bot', 'a tokens .txt is detected')
      await writeFile(join(dir, 'x.csv'), 'phone\n99966 1 9001\nbad\n')
      await assert.rejects(loadAccountsFile(join(dir, 'x.csv')), /x\.csv:3: phone contains letters/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('bounds parsing: a 100k-deep JSON is a syntax issue with its line, not a stack overflow', () => {
    const deep = `[\n${'['.repeat(100_000)}${']'.repeat(100_000)}\n]`
    const issues = issuesOf(deep, 'json')
    assert.deepEqual(pairs(issues), [[2, 'syntax']])
    assert.match(issues[0]?.message ?? '', /JSON: nested deeper than 32 levels/)
    assert.deepEqual(
      pairs(issuesOf('[[[{"kind":"user"}]]]', 'json')),
      [[1, 'syntax']],
      'limit 32 leaves room for real files',
    )
    assert.throws(
      () => parseAccounts('[[[[]]]]', { file: 'x.json', limits: { maxDepth: 3 } }),
      /x\.json:1: JSON: nested deeper than 3 levels/,
    )
  })

  it('bounds parsing: keeps the first 20 issues and counts the rest (a file of bad lines costs no memory per line)', () => {
    const lines = 100_000
    let caught: unknown
    try {
      parseAccounts('not a phone\n'.repeat(lines), { file: 'bad.txt', format: 'phones' })
    } catch (err) {
      caught = err
    }
    assert.ok(caught instanceof AccountsFileError)
    assert.equal(caught.issues.length, 20)
    assert.equal(caught.omitted, lines - 20)
    assert.deepEqual(
      caught.issues.map((i) => i.line),
      Array.from({ length: 20 }, (_, i) => i + 1),
    )
    assert.match(caught.message, /^bad\.txt: 100000 problems, nothing loaded\n/)
    assert.match(caught.message, /\n {2}… and 99980 more$/)
    assert.equal(caught.message.split('\n').length, 22)
    let five: unknown
    try {
      parseAccounts('phone\nx\ny\nz\n', { file: 'few.csv', limits: { maxIssues: 2 } })
    } catch (err) {
      five = err
    }
    assert.ok(five instanceof AccountsFileError && five.issues.length === 2 && five.omitted === 1)
  })

  it('bounds parsing: a file over the size limit is refused before it is read', async () => {
    const text = Array.from({ length: 10 }, (_, i) => `+99966 1 234${i}`).join('\n') // 10 × 13 bytes + 9 newlines = 139 bytes
    assert.throws(
      () => parseAccounts(text, { file: 'big.txt', limits: { maxBytes: 100 } }),
      (e: unknown) => {
        assert.ok(e instanceof AccountsFileError && e.issues[0]?.code === 'too-large')
        return true
      },
    )
    const dir = await mkdtemp(join(tmpdir(), 'gramfarm-accounts-'))
    try {
      await writeFile(join(dir, 'big.txt'), text)
      await assert.rejects(loadAccountsFile(join(dir, 'big.txt'), { limits: { maxBytes: 100 } }), (e: unknown) => {
        assert.ok(e instanceof AccountsFileError)
        assert.deepEqual(pairs([...e.issues]), [[0, 'too-large']])
        assert.match(
          e.message,
          /big\.txt: 1 problem, nothing loaded\n {2}big\.txt:0: the file has 139 bytes, more than the 100 accepted/,
        )
        return true
      })
      assert.equal((await loadAccountsFile(join(dir, 'big.txt'), { limits: { maxBytes: 139 } })).length, 10)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('loads the example files in config/', async () => {
    const root = new URL('../config/', import.meta.url).pathname
    const txt = await loadAccountsFile(`${root}accounts.example.txt`)
    const csv = await loadAccountsFile(`${root}accounts.example.csv`)
    const bots = await loadAccountsFile(`${root}bots.example.txt`)
    const json = await loadAccountsFile(`${root}accounts.example.json`)
    assert.ok(txt.length > 0 && txt.every((a) => a.kind === 'user' && /^99966\d{5}$/.test(a.phone)))
    assert.ok(csv.length > 0 && csv.every((a) => a.kind === 'user' && /^99966\d{5}$/.test(a.phone)))
    assert.ok(bots.length > 0 && bots.every((a) => a.kind === 'bot'))
    assert.deepEqual(new Set(json.map((a) => a.kind)), new Set(['user', 'bot', 'qr']))
  })
})
