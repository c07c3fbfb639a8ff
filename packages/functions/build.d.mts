// The types of build.mjs, for the TypeScript that imports it (the Lambda benchmark).
import type { BuildOptions } from 'esbuild';

export declare const entryPoints: Record<string, string>;
export declare const bundleOptions: BuildOptions;
export declare function bundle(
  entries: Record<string, string>,
  outdir: string,
): Promise<Record<string, number>>;
