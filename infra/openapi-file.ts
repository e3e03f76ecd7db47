import { fileURLToPath } from 'node:url';
import { buildOpenApiDocument } from '../functions/api/openapi.js';
import { taskTypes as demoTaskTypes } from '../functions/tasks/demo.js';
import { createTaskRegistry } from '../functions/tasks/registry.js';

/** The committed copy of the API's OpenAPI document; `npm run openapi` rewrites it. */
export const OPENAPI_FILE = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));

/** The document for the public task types (no diagnostic ones), as written to OPENAPI_FILE. */
export const renderOpenApiFile = (): string =>
  `${JSON.stringify(buildOpenApiDocument(createTaskRegistry({ tasks: demoTaskTypes, diagnostic: false })), null, 2)}\n`;
