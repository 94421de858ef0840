// `npm run bench -- <name>`: runs one benchmark (or all with no name). Each prints its figures side by side
// with the reference libraries, and as its last line one JSON object with the ratios.
const BENCHES: Record<string, () => Promise<unknown>> = {
  tl: () => import('./tl.ts'),
  authkey: () => import('./authkey.ts'),
  login: () => import('./login.ts'),
  farm: () => import('./farm.ts'),
  'farm-burst': () => import('./farm-burst.ts'),
  startup: () => import('./startup.ts'),
}

const names = process.argv.slice(2)
const selected = names.length ? names : Object.keys(BENCHES)
for (const name of selected) {
  const load = BENCHES[name]
  if (!load) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(BENCHES).join(', ')}`)
    process.exit(2)
  }
  await load()
}
// Every selected bench has printed its figures and its JSON line. End here: the reference clients (GramJS, mtcute)
// can leave timers or sockets behind them, and the farm bench stayed up after its last line because of one.
process.exit(0)
