// Request validation: JSON bodies (415 unless the content type is JSON, 400 for malformed JSON or
// a body that breaks the schema) and query strings (400), through @hono/zod-validator with our error shape.
import { zValidator } from '@hono/zod-validator';
import type { MiddlewareHandler, ValidationTargets } from 'hono';
import { z } from 'zod';
import { ApiError } from './errors.js';

const jsonMediaType = /^application\/([\w.-]+\+)?json$/i;

/** 415 for anything but a JSON content type: the json validator would otherwise treat the body as `{}`. */
export function requireJson(): MiddlewareHandler {
  return async (c, next) => {
    const mediaType = (c.req.header('content-type') ?? '').split(';')[0]!.trim();
    if (!jsonMediaType.test(mediaType)) {
      throw new ApiError(415, 'unsupported_media_type', 'Content-Type must be application/json');
    }
    await next();
  };
}

/**
 * A text field PostgreSQL can store: `text` refuses NUL characters, so they are a 400 here rather
 * than a database error later.
 */
export function storableText() {
  return z.string().refine((value) => !value.includes('\u0000'), 'must not contain NUL characters');
}

/** Names the first few problems with their paths, e.g. `email: Invalid email address`. */
export function describeIssues(issues: z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

export function validate<Target extends keyof ValidationTargets, Schema extends z.ZodType>(target: Target, schema: Schema) {
  const code = target === 'json' ? 'invalid_body' : target === 'query' ? 'invalid_query' : 'invalid_request';
  return zValidator(target, schema, (result) => {
    if (!result.success) throw new ApiError(400, code, describeIssues(result.error.issues));
  });
}
