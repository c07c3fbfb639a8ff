// Bundles the Lambdas and the script-runner container entry with esbuild:
//   dist/lambda/engine.mjs     src/engine/lambda-entry.ts: every engine Lambda, handler `engine.stage.<handlerExport>`
//   dist/lambda/admin-api.mjs  src/lambda/admin-api.ts: the admin API's Lambda, handler `admin-api.handler`
//   dist/lambda/catalog/       catalog/, which the admin API lists and installs from
//   dist/script-runner.mjs     src/script-runner/main.ts (copied by script-runner.Dockerfile)
// Lambdas run nodejs22.x. Each bundle is self-contained, AWS SDK included: the runtime's own SDK
// version is not ours to pin.
//
// Usage: node packages/functions/build.mjs
import { cp, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = dirname(fileURLToPath(import.meta.url));

/** Output path (under dist/, without `.mjs`) -> source. */
export const entryPoints = {
  'lambda/engine': join(root, 'src/engine/lambda-entry.ts'),
  'lambda/admin-api': join(root, 'src/lambda/admin-api.ts'),
  'script-runner': join(root, 'src/script-runner/main.ts'),
};

/** How every bundle is built; `npm run bench -- lambda` builds its variants with the same. */
export const bundleOptions = {
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
};

/** Builds `entries` into a fresh `outdir`; answers each bundle's size in bytes, by its path under outdir. */
export async function bundle(entries, outdir) {
  await rm(outdir, { recursive: true, force: true });
  const result = await build({ ...bundleOptions, entryPoints: entries, outdir });
  return Object.fromEntries(
    Object.entries(result.metafile.outputs)
      .filter(([file]) => file.endsWith('.mjs'))
      // Metafile paths are relative to the working directory.
      .map(([file, output]) => [relative(outdir, resolve(file)), output.bytes]),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sizes = await bundle(entryPoints, join(root, 'dist'));
  // The admin API serves and installs the hook catalog: it ships beside its bundle.
  await cp(join(root, '../../catalog'), join(root, 'dist/lambda/catalog'), { recursive: true });
  for (const [file, bytes] of Object.entries(sizes)) {
    console.log(`${(bytes / 1024).toFixed(0).padStart(6)} KiB  dist/${file}`);
  }
}
