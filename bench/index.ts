/** `npm run bench -- <name...>`: runs the named benchmarks (all when none is named) and prints figures. */
import { benchDynamoDb } from './dynamodb';
import { benchEngine } from './engine';
import { benchLambda } from './lambda';
import { benchResolve } from './resolve';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const benches: Record<string, () => Promise<boolean>> = {
  resolve: benchResolve,
  engine: benchEngine,
  dynamodb: benchDynamoDb,
  lambda: benchLambda,
};

const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !(name in benches));
if (unknown.length > 0) {
  console.error(`unknown benchmark: ${unknown.join(', ')} (known: ${Object.keys(benches).join(', ')})`);
  process.exit(2);
}
let allMet = true;
for (const name of asked.length > 0 ? asked : Object.keys(benches)) {
  allMet = (await benches[name]!()) && allMet;
}
process.exitCode = allMet ? 0 : 1;
