import type { $ZodIssue } from 'zod/v4/core';
import type { ErrorDetail } from '../../shared/errors.js';

/** zod issues as the API's `details`: a dotted path from the request body root and a message. */
export function issuesToDetails(issues: readonly $ZodIssue[], prefix?: string): ErrorDetail[] {
  return issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter((part) => part !== undefined && part !== '').join('.') || '(root)',
    message: issue.message,
  }));
}
