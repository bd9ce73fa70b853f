import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSecretKey, REDACTED, redactSecrets } from './redact.js';

describe('isSecretKey', () => {
  it.each([
    'authorization',
    'Authorization',
    'proxy-authorization',
    'cookie',
    'Set-Cookie',
    'password',
    'ELASTICSEARCH_PASSWORD',
    'passwd',
    'pwd',
    'secret',
    'clientSecret',
    'client.secret',
    'token',
    'refreshToken',
    'access_token',
    'PUSHGATEWAY_TOKEN',
    'apiKey',
    'api_key',
    'x-api-key',
    'ELASTICSEARCH_API_KEY',
    'private_key',
    'credentials',
    'session_id',
    'auth',
    'signature',
  ])('%s is a secret', (key) => expect(isSecretKey(key)).toBe(true));

  it.each([
    'user.id',
    'trace.id',
    'message',
    'url.path',
    'http.request.method',
    'author',
    'authority',
    'event.duration',
    'status',
    'email',
  ])('%s is not a secret', (key) => expect(isSecretKey(key)).toBe(false));
});

describe('redactSecrets', () => {
  it('replaces secret-named values at any depth, in objects and arrays', () => {
    const input = {
      user: { id: '7', password: 'hunter2' },
      headers: { Authorization: 'Bearer abc', cookie: 'sid=1', accept: 'json' },
      list: [{ token: 't1' }, { name: 'ok' }],
      nested: { deeper: { deepest: { api_key: 'k' } } },
    };
    expect(redactSecrets(input)).toEqual({
      user: { id: '7', password: REDACTED },
      headers: { Authorization: REDACTED, cookie: REDACTED, accept: 'json' },
      list: [{ token: REDACTED }, { name: 'ok' }],
      nested: { deeper: { deepest: { api_key: REDACTED } } },
    });
  });

  it('does not modify its input and returns objects without secrets unchanged (same reference)', () => {
    const clean = { a: 1, b: { c: [1, 2, { d: 'x' }] } };
    expect(redactSecrets(clean)).toBe(clean);
    const dirty = { a: { password: 'p' } };
    const redacted = redactSecrets(dirty);
    expect(dirty.a.password).toBe('p');
    expect(redacted).not.toBe(dirty);
  });

  it('redacts a whole secret-named subtree, not just strings', () => {
    expect(redactSecrets({ credentials: { user: 'u', pass: 'p' } })).toEqual({ credentials: REDACTED });
  });

  it('never lets a value under a secret-named key through, whatever the shape (property)', () => {
    const secretKey = fc.constantFrom('password', 'authorization', 'Cookie', 'x-api-key', 'accessToken', 'client_secret');
    const marker = fc.string({ minLength: 8, maxLength: 16 }).map((s) => `SECRET-${s}`);
    const tree = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.string(),
        fc.integer(),
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'user', 'headers', 'items'), tie('node'), { maxKeys: 3 }),
      ),
    })).node;
    fc.assert(
      fc.property(
        tree,
        secretKey,
        marker,
        fc.array(fc.constantFrom('a', 'user', 'headers'), { maxLength: 4 }),
        (base, key, value, path) => {
          let holder: Record<string, unknown> = { [key]: value };
          for (const step of path) holder = { [step]: holder, other: base };
          expect(JSON.stringify(redactSecrets({ root: holder, base }))).not.toContain(value);
        },
      ),
    );
  });
});
