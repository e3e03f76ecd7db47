import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { OPENAPI_FILE, renderOpenApiFile } from './openapi-file.js';

writeFileSync(OPENAPI_FILE, renderOpenApiFile());
console.log(`wrote ${relative(process.cwd(), OPENAPI_FILE)}`);
