// Bundles the engine Lambdas and the script-runner container entry with esbuild:
//   dist/lambda/<entry>.mjs   one per src/lambda/<entry>.ts (handler `<entry>.handler`, nodejs22.x)
//   dist/script-runner.mjs    src/script-runner/main.ts (copied by script-runner.Dockerfile)
// Each bundle is self-contained, AWS SDK included: the runtime's own SDK version is not ours to pin.
//
// Usage: node packages/functions/build.mjs
import { readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = dirname(fileURLToPath(import.meta.url));
const outdir = join(root, 'dist');

/** src/lambda holds the entry points, plus their shared wiring and the entry table. */
const notEntries = new Set(['deps.ts', 'index.ts']);

const lambdaFiles = (await readdir(join(root, 'src/lambda')))
  .filter((file) => file.endsWith('.ts') && !notEntries.has(file))
  .sort();
const entryPoints = {
  ...Object.fromEntries(
    lambdaFiles.map((file) => [`lambda/${file.slice(0, -'.ts'.length)}`, join(root, 'src/lambda', file)]),
  ),
  'script-runner': join(root, 'src/script-runner/main.ts'),
};

await rm(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints,
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  // ESM builds of dependencies where they ship one (the AWS SDK does): smaller, tree-shaken bundles.
  mainFields: ['module', 'main'],
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __stagehooksCreateRequire } from 'node:module';\nconst require = __stagehooksCreateRequire(import.meta.url);",
  },
});

for (const [file, output] of Object.entries(result.metafile.outputs)) {
  if (!file.endsWith('.mjs')) continue;
  console.log(`${(output.bytes / 1024).toFixed(0).padStart(6)} KiB  ${file.slice(file.indexOf('dist/'))}`);
}
