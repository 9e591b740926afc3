import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * certflow's version, from the package.json of this checkout: the nearest one above this module
 * named "certflow" (so it holds for `tsx bin/certflow.ts` and for compiled output alike).
 */
export function packageVersion(from: string = __dirname): string {
  let dir = from;
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'certflow' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here; look further up
    }
    const parent = dirname(dir);
    if (parent === dir) return '0.0.0-unknown';
    dir = parent;
  }
}
