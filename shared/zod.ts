import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

/**
 * zod as the functions use it: the `zod/mini` API, whose functions (`z.optional(s)` rather than
 * `s.optional()`) let esbuild keep only what is used and whose schemas are cheap to build, so
 * validation costs the cold start little; classic `zod` added about 7 ms to every function's init.
 * `zod/mini` loads no locale, and every issue would read "Invalid input": this loads zod's English
 * messages (the API returns them in `details`), the one thing classic `zod` did for us.
 */
config(en());

export * from 'zod/mini';
