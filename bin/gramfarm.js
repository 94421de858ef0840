#!/usr/bin/env node
// `gramfarm`: the compiled CLI in this very process (dist/ is built by `npm run build`, which `npm ci` and `npm pack`
// run through `prepare`). From a clone, `npm start` and the tests run the TypeScript sources under tsx instead.
try {
  await import('../dist/cli/main.js')
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/cli/main.js')) throw err
  process.stderr.write('gramfarm: dist/ is missing; build it with `npm run build` (npm ci does it for you)\n')
  process.exitCode = 5
}
