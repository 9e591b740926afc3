/**
 * The second half of `npm run build` (after `tsc -p tsconfig.build.json`), run from the compiled
 * output as `node dist/scripts/build.js`: function bundles, the default local definition and the
 * source stamps into `dist/` (lib/bundling/build-artifacts.ts).
 */
import { basename, resolve } from 'node:path';
import { buildArtifacts } from '../lib/bundling/build-artifacts';
import { defaultProjectRoot } from '../lib/bundling/function-bundles';
import { localDefinitionFile, localDefinitions } from '../local/local-definition';

const dist = resolve(__dirname, '..');
if (!__filename.endsWith('.js')) {
  process.stderr.write('run the compiled script: npm run build\n');
  process.exit(2);
}
const started = Date.now();
const { bundles, definition } = buildArtifacts({
  projectRoot: defaultProjectRoot(),
  dist,
  renderDefinition: (cacheDirectory) => {
    localDefinitions({ cacheDirectory });
    return basename(localDefinitionFile({ cacheDirectory }));
  },
});
const kb = Object.values(bundles).map((b) => b.bytes / 1024);
process.stdout.write(
  `certflow build: ${kb.length} function bundles (${Math.min(...kb).toFixed(0)}-${Math.max(...kb).toFixed(0)} KB) and definitions/${definition} in ${dist} (${Date.now() - started} ms)\n`,
);
