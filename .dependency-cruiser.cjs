// Import boundaries of the house (README "Layout"): each room may import only the rooms below it, and nothing
// imports in a circle. `npm run check:layers` runs it; .ci/run runs that before the tests.
//   foundation → mtproto → auth → queue → worker → farm       (a room imports only rooms to its left)
//   testdc: foundation, mtproto, auth                            (the test DC is a server, not a farm part)
//   demo, operator (the HTTP server): everything but cli, and not each other     cli: everything
//   src/index.ts, src/farm-api.ts, src/testdc-api.ts: the package's entry points, imported by no room
/** Rooms, lowest first, with the rooms each may not import. */
const ROOMS = ['foundation', 'mtproto', 'auth', 'queue', 'worker', 'farm']
const ALL = [...ROOMS, 'testdc', 'demo', 'operator', 'cli']

const higher = (room) => {
  const at = ROOMS.indexOf(room)
  return [...ROOMS.slice(at + 1), 'testdc', 'demo', 'operator', 'cli']
}
const paths = (rooms) => `^src/(${rooms.join('|')})/`

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...ROOMS.map((room) => ({
      name: `${room}-imports-only-lower-rooms`,
      comment: `src/${room} may import only ${ROOMS.slice(0, ROOMS.indexOf(room)).join(', ') || 'itself'} (the layers below it)`,
      severity: 'error',
      from: { path: `^src/${room}/` },
      to: { path: paths(higher(room)) },
    })),
    {
      name: 'testdc-imports-only-protocol-rooms',
      comment: 'the test DC is a server speaking MTProto: it may import foundation, mtproto and auth, never the farm',
      severity: 'error',
      from: { path: '^src/testdc/' },
      to: { path: paths(ALL.filter((r) => !['foundation', 'mtproto', 'auth', 'testdc'].includes(r))) },
    },
    {
      name: 'demo-does-not-import-cli',
      comment: "the demo's simulated parts sit under the command line, which drives them",
      severity: 'error',
      from: { path: '^src/demo/' },
      to: { path: '^src/(cli|operator)/' },
    },
    {
      name: 'operator-does-not-import-cli',
      comment: "the operator's HTTP server is a library room under the command line (gramfarm serve), beside the demo",
      severity: 'error',
      from: { path: '^src/operator/' },
      to: { path: '^src/(cli|demo|testdc)/' },
    },
    {
      name: 'no-room-imports-entry-points',
      comment:
        'src/index.ts, src/farm-api.ts and src/testdc-api.ts gather the public API; the rooms import each other directly',
      severity: 'error',
      from: { path: '^src/[^/]+/' },
      to: { path: '^src/[^/]+\\.ts$' },
    },
    {
      name: 'no-circular',
      comment: 'modules import each other in a circle',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
}
