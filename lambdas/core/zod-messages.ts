/**
 * zod's English messages for `zod/mini`. The mini API (the same checks as zod's chained API, at a
 * fraction of the cold-start cost) loads no locale, so every message would read "Invalid input";
 * zod's chained API sets this same locale when it loads. Imported for its effect by every module
 * that validates with zod/mini. `zod/locales` by name, so a bundle carries English alone.
 */
import { en } from 'zod/locales';
import * as z from 'zod/mini';

z.config(en());
