// TL codec benchmark: encode and decode of a realistic mix (wrapped auth.sendCode, a messages.messages page
// with 100 messages and 50 users, a full config) by gramfarm, mtcute (@mtcute/tl + @mtcute/tl-runtime, same
// layer 223) and GramJS (telegram, layer 198), in one run. The decode mix has the sendCode's answer
// (auth.sentCode) in place of the request: clients decode answers, and mtcute has no readers for requests.
import { createRequire } from 'node:module'
import { tlCodec, codecForLayer, API_LAYER, type TlValue } from '../src/mtproto/tl/index.ts'
import { fieldName } from '../src/mtproto/tl/tl-names.ts'
import { loadSchema } from '../test/support/tl-samples.ts'
import { toGramjs, GRAMJS_LAYER } from '../test/support/gramjs-objects.ts'
import { wrappedSendCode, sentCode, messagesPage, fullConfig } from './fixtures/tl-mix.ts'
import { measure, printTable, type Rate } from './support/measure.ts'

const require = createRequire(import.meta.url)

// --- gramfarm
const ours = [wrappedSendCode(API_LAYER), messagesPage(), fullConfig()]
const oursBytes = ours.map((o) => tlCodec.encode(o))
const oursAnswers = [sentCode(), messagesPage(), fullConfig()]
const oursAnswerBytes = oursAnswers.map((o) => tlCodec.encode(o))

// --- mtcute: same layer; its objects use Long for `long` and numbers for 53-bit ids
interface MtcuteArg {
  name: string
  type: string
  typeModifiers?: { isVector?: boolean }
}
const mtcuteSchema = require('@mtcute/tl/api-schema.json') as { e: { name: string; arguments: MtcuteArg[] }[] }
const mtcuteArgs = new Map(mtcuteSchema.e.map((e) => [e.name, new Map(e.arguments.map((a) => [fieldName(a.name), a]))]))
const Long = require('long') as { fromString(s: string): unknown }
const { TlBinaryWriter, TlBinaryReader } = await import('@mtcute/tl-runtime')
const { __tlWriterMap } = require('@mtcute/tl/binary/writer.js') as { __tlWriterMap: unknown }
const { __tlReaderMap } = require('@mtcute/tl/binary/reader.js') as { __tlReaderMap: unknown }

function toMtcute(v: unknown, type?: string): unknown {
  if (Array.isArray(v)) return v.map((x) => toMtcute(x, type))
  if (typeof v === 'bigint') return type === 'int53' ? Number(v) : Long.fromString(v.toString())
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v
  const obj = v as TlValue
  const args = mtcuteArgs.get(obj._)
  const out: Record<string, unknown> = { _: obj._ }
  for (const [k, x] of Object.entries(obj)) if (k !== '_' && x !== undefined) out[k] = toMtcute(x, args?.get(k)?.type)
  return out
}
const mtcuteObjs = ours.map((o) => toMtcute(o))
type MtcuteWriterStatic = { serializeObject(map: unknown, obj: unknown): Uint8Array }
type MtcuteReaderStatic = { deserializeObject(map: unknown, data: Uint8Array): unknown }
const mtcuteEncode = (o: unknown): Uint8Array =>
  (TlBinaryWriter as unknown as MtcuteWriterStatic).serializeObject(__tlWriterMap, o)
const mtcuteDecode = (b: Uint8Array): unknown =>
  (TlBinaryReader as unknown as MtcuteReaderStatic).deserializeObject(__tlReaderMap, b)
const mtcuteBytes = mtcuteObjs.map(mtcuteEncode)
const mtcuteAnswerBytes = oursAnswers.map((o) => mtcuteEncode(toMtcute(o)))
for (let i = 0; i < ours.length; i++) {
  if (Buffer.compare(Buffer.from(mtcuteBytes[i]!), Buffer.from(oursBytes[i]!)) !== 0)
    throw new Error(`mtcute and gramfarm disagree on object ${i}`)
  if (Buffer.compare(Buffer.from(mtcuteAnswerBytes[i]!), Buffer.from(oursAnswerBytes[i]!)) !== 0)
    throw new Error(`mtcute and gramfarm disagree on answer ${i}`)
}

// --- GramJS: layer 198, its own classes
const schema198 = loadSchema('api-198.tl')
const fields198 = new Map<string, { tlName: string; type: string }>()
for (const e of schema198.entries)
  for (const a of e.args) fields198.set(`${e.name}.${fieldName(a.name)}`, { tlName: a.name, type: a.type.kind })
const strip198 = (o: TlValue): TlValue => (o._ === 'messages.messages' ? { ...o, topics: undefined } : o)
const theirs = [wrappedSendCode(GRAMJS_LAYER), messagesPage(), fullConfig()].map(strip198)
const gramjsObjs = theirs.map((o) => toGramjs(o, (c, f) => fields198.get(`${c}.${f}`)!)) as { getBytes(): Buffer }[]
const { BinaryReader } = require('telegram/extensions') as {
  BinaryReader: new (b: Buffer) => { tgReadObject(): unknown }
}
const gramjsBytes = gramjsObjs.map((o) => o.getBytes())
const gramjsAnswerBytes = [sentCode(), messagesPage(), fullConfig()]
  .map(strip198)
  .map((o) => (toGramjs(o, (c, f) => fields198.get(`${c}.${f}`)!) as { getBytes(): Buffer }).getBytes())
const codec198 = await codecForLayer(GRAMJS_LAYER)
for (let i = 0; i < theirs.length; i++) {
  if (!Buffer.from(codec198.encode(theirs[i]!)).equals(gramjsBytes[i]!))
    throw new Error(`GramJS and gramfarm (layer 198) disagree on object ${i}`)
}

console.log(
  `TL codec, node ${process.version}. One op = the whole mix: encode ${oursBytes.map((b) => b.length).join(' + ')} bytes, decode ${oursAnswerBytes.map((b) => b.length).join(' + ')} bytes`,
)
const enc: Record<string, Rate> = {
  gramfarm: measure(() => {
    for (const o of ours) tlCodec.encode(o)
  }),
  mtcute: measure(() => {
    for (const o of mtcuteObjs) mtcuteEncode(o)
  }),
  gramjs: measure(() => {
    for (const o of gramjsObjs) o.getBytes()
  }),
}
const dec: Record<string, Rate> = {
  gramfarm: measure(() => {
    for (const b of oursAnswerBytes) tlCodec.decode(b)
  }),
  mtcute: measure(() => {
    for (const b of mtcuteAnswerBytes) mtcuteDecode(b)
  }),
  gramjs: measure(() => {
    for (const b of gramjsAnswerBytes) new BinaryReader(b).tgReadObject()
  }),
}
printTable(
  'encode',
  Object.entries(enc).map(([name, rate]) => ({ name, rate })),
)
printTable(
  'decode',
  Object.entries(dec).map(([name, rate]) => ({ name, rate })),
)
const r = (a: Rate, b: Rate): number => Math.round((a.opsPerSec / b.opsPerSec) * 100) / 100
console.log(
  JSON.stringify({
    bench: 'tl',
    ratios: {
      encode_vs_mtcute: r(enc['gramfarm']!, enc['mtcute']!),
      decode_vs_mtcute: r(dec['gramfarm']!, dec['mtcute']!),
      encode_vs_gramjs: r(enc['gramfarm']!, enc['gramjs']!),
      decode_vs_gramjs: r(dec['gramfarm']!, dec['gramjs']!),
    },
  }),
)
