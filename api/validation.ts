// Request validation: JSON bodies (415 unless the content type is JSON and the body unencoded, 400 for
// malformed JSON, text that is not valid Unicode or a body that breaks the schema) and query strings
// (400), through @hono/zod-validator with our error shape.
import { zValidator } from '@hono/zod-validator';
import type { MiddlewareHandler, ValidationTargets } from 'hono';
import { z } from 'zod';
import { ApiError } from './errors.js';

const jsonMediaType = /^application\/([\w.-]+\+)?json$/i;

// Without the `u` flag these match single UTF-16 code units, so they find surrogates that have no partner.
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function hasLoneSurrogate(text: string): boolean {
  let found = false;
  JSON.parse(text, (key, value: unknown) => {
    if (loneSurrogate.test(key) || (typeof value === 'string' && loneSurrogate.test(value))) found = true;
    return value;
  });
  return found;
}

/**
 * 415 for anything but a JSON content type (the json validator would otherwise treat the body as `{}`)
 * and for an encoded body, which we do not decode; 400 for text that is not valid Unicode, which the
 * default decoder and JSON.parse would otherwise store as U+FFFD or as lone surrogates. Malformed JSON
 * is left to the validator.
 */
export function requireJson(): MiddlewareHandler {
  return async (c, next) => {
    const mediaType = (c.req.header('content-type') ?? '').split(';')[0]!.trim();
    if (!jsonMediaType.test(mediaType)) {
      throw new ApiError(415, 'unsupported_media_type', 'Content-Type must be application/json');
    }
    const encoding = (c.req.header('content-encoding') ?? 'identity').trim().toLowerCase();
    if (encoding !== 'identity') {
      throw new ApiError(415, 'unsupported_media_type', `Content-Encoding ${encoding} is not accepted; send the JSON body unencoded`);
    }
    // Read outside the try: the body limit's error while reading must stay a 413. Hono caches the bytes,
    // so the validator parses the same, now known valid, text.
    const bytes = await c.req.arrayBuffer();
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new ApiError(400, 'invalid_body', 'Request body is not valid UTF-8');
    }
    let loneSurrogates = false;
    try {
      loneSurrogates = hasLoneSurrogate(text);
    } catch {
      // Malformed JSON: the validator answers it.
    }
    if (loneSurrogates) throw new ApiError(400, 'invalid_body', 'Request body contains an unpaired UTF-16 surrogate escape');
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
  return zValidator(target, schema, (result, c) => {
    if (result.success) return;
    if (target === 'query') {
      // A repeated parameter reaches the schema as an array, whose type error would not name the parameter.
      const repeated = Object.entries(c.req.queries()).find(([, values]) => values.length > 1);
      if (repeated) throw new ApiError(400, code, `query parameter ${repeated[0]} must be given at most once`);
    }
    throw new ApiError(400, code, describeIssues(result.error.issues));
  });
}
