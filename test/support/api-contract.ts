// The API's HTTP contract, written once and run against every runtime: Node (app.request over real
// PostgreSQL or PGlite) and workerd (the bundled Worker over real PostgreSQL through Hyperdrive).
// Each test makes its own users (unique emails), so the suites can share a database.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

export type ApiFetch = (path: string, init?: RequestInit) => Response | Promise<Response>;

export interface ApiTarget {
  fetch: ApiFetch;
  /** Whether Redis is configured (then health lists a redis check and GET /api/users/:id reports X-Cache). */
  redis: boolean;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
let sequence = 0;
const uniqueEmail = (tag = 'user') =>
  `${tag}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 8)}.${++sequence}@example.com`;

const json = (body: unknown, method = 'POST'): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

async function expectError(response: Response, status: number, code?: string): Promise<{ code: string; message: string }> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(response.headers.get('x-request-id')).toBeTruthy();
  const body = JSON.parse(text) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
  if (code) expect(body.error.code).toBe(code);
  return body.error;
}

export function defineApiSuite(name: string, target: () => ApiTarget): void {
  const api = async (path: string, init?: RequestInit): Promise<Response> => await target().fetch(path, init);

  async function createUser(overrides: Partial<{ email: string; name: string }> = {}) {
    const response = await api('/api/users', json({ email: uniqueEmail(), name: 'Ada Lovelace', ...overrides }));
    expect(response.status, await response.clone().text()).toBe(201);
    return (await response.json()) as { id: string; email: string; name: string; createdAt: string; updatedAt: string };
  }

  async function createTask(userId: string, body: Record<string, unknown>) {
    const response = await api(`/api/users/${userId}/tasks`, json(body));
    expect(response.status, await response.clone().text()).toBe(201);
    return (await response.json()) as { id: string; userId: string; title: string; done: boolean };
  }

  describe(`API contract: ${name}`, () => {
    describe('users', () => {
      it('creates a user (201, Location, normalised email, UUIDv7 id, request id)', async () => {
        const email = uniqueEmail('Mixed.Case').replace('example', 'EXAMPLE');
        const response = await api('/api/users', json({ email: `  ${email} `, name: '  Grace Hopper ' }));
        expect(response.status).toBe(201);
        expect(response.headers.get('x-request-id')).toBeTruthy();
        const user = (await response.json()) as Record<string, string>;
        expect(user.id).toMatch(uuidPattern);
        expect(user.email).toBe(email.toLowerCase());
        expect(user.name).toBe('Grace Hopper');
        expect(new Date(user.createdAt!).getTime()).not.toBeNaN();
        expect(response.headers.get('location')).toBe(`/api/users/${user.id}`);
      });

      it('reads a user back, and answers 404 for unknown and malformed ids', async () => {
        const user = await createUser();
        const read = await api(`/api/users/${user.id}`);
        expect(read.status).toBe(200);
        expect(await read.json()).toEqual(user);
        await expectError(await api('/api/users/01890000-0000-7000-8000-000000000000'), 404, 'not_found');
        await expectError(await api('/api/users/not-a-uuid'), 404, 'not_found');
        await expectError(await api("/api/users/1'%20OR%201=1"), 404, 'not_found');
      });

      it('refuses a duplicate email, whatever its case, with 409 and changes nothing', async () => {
        const user = await createUser();
        await expectError(await api('/api/users', json({ email: user.email.toUpperCase(), name: 'Someone else' })), 409, 'conflict');
        const other = await createUser();
        await expectError(await api(`/api/users/${other.id}`, json({ email: user.email }, 'PATCH')), 409, 'conflict');
        expect(await (await api(`/api/users/${other.id}`)).json()).toEqual(other);
      });

      it('updates a user with PATCH and serves the new version', async () => {
        const user = await createUser();
        await api(`/api/users/${user.id}`); // may populate the cache
        const response = await api(`/api/users/${user.id}`, json({ name: 'Renamed' }, 'PATCH'));
        expect(response.status).toBe(200);
        const updated = (await response.json()) as typeof user;
        expect(updated).toMatchObject({ id: user.id, email: user.email, name: 'Renamed' });
        expect(new Date(updated.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(user.updatedAt).getTime());
        expect(await (await api(`/api/users/${user.id}`)).json()).toEqual(updated);
      });

      it('refuses empty, unknown-field and invalid PATCHes with 400, and PATCH of an unknown user with 404', async () => {
        const user = await createUser();
        await expectError(await api(`/api/users/${user.id}`, json({}, 'PATCH')), 400, 'invalid_body');
        await expectError(await api(`/api/users/${user.id}`, json({ id: 'x', name: 'n' }, 'PATCH')), 400, 'invalid_body');
        await expectError(await api(`/api/users/${user.id}`, json({ email: 'nope' }, 'PATCH')), 400, 'invalid_body');
        await expectError(await api('/api/users/01890000-0000-7000-8000-000000000000', json({ name: 'x' }, 'PATCH')), 404, 'not_found');
        expect(await (await api(`/api/users/${user.id}`)).json()).toEqual(user);
      });

      it('deletes a user (204), after which it is gone (404) and a second delete is 404', async () => {
        const user = await createUser();
        await api(`/api/users/${user.id}`);
        const response = await api(`/api/users/${user.id}`, { method: 'DELETE' });
        expect(response.status).toBe(204);
        expect(await response.text()).toBe('');
        await expectError(await api(`/api/users/${user.id}`), 404, 'not_found');
        await expectError(await api(`/api/users/${user.id}`, { method: 'DELETE' }), 404, 'not_found');
      });

      it('lists users with keyset pagination: every user exactly once, in creation order', async () => {
        const created = [await createUser(), await createUser(), await createUser()];
        const seen: string[] = [];
        let cursor: string | null = null;
        for (let page = 0; page < 500; page++) {
          const response: Response = await api(`/api/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
          expect(response.status).toBe(200);
          const body = (await response.json()) as { data: Array<{ id: string }>; nextCursor: string | null };
          expect(body.data.length).toBeLessThanOrEqual(2);
          seen.push(...body.data.map((user) => user.id));
          cursor = body.nextCursor;
          if (!cursor) break;
        }
        expect(cursor).toBeNull();
        expect(new Set(seen).size).toBe(seen.length);
        expect([...seen].sort()).toEqual(seen);
        const positions = created.map((user) => seen.indexOf(user.id));
        expect(positions.every((position) => position >= 0)).toBe(true);
        expect([...positions].sort((a, b) => a - b)).toEqual(positions);
      });

      it('refuses bad pagination parameters with 400', async () => {
        for (const query of [
          'limit=0',
          'limit=101',
          'limit=abc',
          'limit=-1',
          'limit=1.5',
          'cursor=garbage',
          'cursor=',
          'limit=1&limit=2',
        ]) {
          await expectError(await api(`/api/users?${query}`), 400, 'invalid_query');
        }
      });
    });

    describe('tasks', () => {
      it('creates, lists (with done filter and pagination), updates and deletes tasks', async () => {
        const user = await createUser();
        const first = await createTask(user.id, { title: 'write tests' });
        const second = await createTask(user.id, { title: 'ship', done: true });
        const third = await createTask(user.id, { title: 'rest' });
        expect(first).toMatchObject({ userId: user.id, title: 'write tests', done: false });
        expect(second.done).toBe(true);

        const all = (await (await api(`/api/users/${user.id}/tasks`)).json()) as { data: Array<{ id: string }>; nextCursor: string | null };
        expect(all.data.map((task) => task.id)).toEqual([first.id, second.id, third.id]);
        expect(all.nextCursor).toBeNull();

        const open = (await (await api(`/api/users/${user.id}/tasks?done=false`)).json()) as { data: Array<{ id: string }> };
        expect(open.data.map((task) => task.id)).toEqual([first.id, third.id]);

        const page1 = (await (await api(`/api/users/${user.id}/tasks?limit=2`)).json()) as {
          data: Array<{ id: string }>;
          nextCursor: string;
        };
        expect(page1.data.map((task) => task.id)).toEqual([first.id, second.id]);
        const page2 = (await (await api(`/api/users/${user.id}/tasks?limit=2&cursor=${page1.nextCursor}`)).json()) as {
          data: Array<{ id: string }>;
          nextCursor: string | null;
        };
        expect(page2.data.map((task) => task.id)).toEqual([third.id]);
        expect(page2.nextCursor).toBeNull();

        const patched = await api(`/api/tasks/${first.id}`, json({ done: true }, 'PATCH'));
        expect(patched.status).toBe(200);
        expect(await patched.json()).toMatchObject({ id: first.id, done: true, title: 'write tests' });
        expect(await (await api(`/api/tasks/${first.id}`)).json()).toMatchObject({ done: true });

        expect((await api(`/api/tasks/${second.id}`, { method: 'DELETE' })).status).toBe(204);
        await expectError(await api(`/api/tasks/${second.id}`), 404, 'not_found');
        await expectError(await api(`/api/tasks/${second.id}`, json({ done: false }, 'PATCH')), 404, 'not_found');
        await expectError(await api(`/api/tasks/${second.id}`, { method: 'DELETE' }), 404, 'not_found');
      });

      it('answers 404 for tasks of an unknown user and 400 for invalid tasks', async () => {
        const missing = '01890000-0000-7000-8000-000000000001';
        await expectError(await api(`/api/users/${missing}/tasks`, json({ title: 'x' })), 404, 'not_found');
        await expectError(await api(`/api/users/${missing}/tasks`), 404, 'not_found');
        const user = await createUser();
        await expectError(await api(`/api/users/${user.id}/tasks`, json({ title: '' })), 400, 'invalid_body');
        await expectError(await api(`/api/users/${user.id}/tasks`, json({ title: 'x', done: 'yes' })), 400, 'invalid_body');
        await expectError(await api(`/api/users/${user.id}/tasks?done=maybe`), 400, 'invalid_query');
        const listed = (await (await api(`/api/users/${user.id}/tasks`)).json()) as { data: unknown[] };
        expect(listed.data).toEqual([]);
      });

      it("deletes a user's tasks with the user", async () => {
        const user = await createUser();
        const task = await createTask(user.id, { title: 'orphan?' });
        expect((await api(`/api/users/${user.id}`, { method: 'DELETE' })).status).toBe(204);
        await expectError(await api(`/api/tasks/${task.id}`), 404, 'not_found');
      });
    });

    describe('bad requests', () => {
      it('415 for a body that is not JSON, and nothing is created', async () => {
        const email = uniqueEmail();
        await expectError(
          await api('/api/users', {
            method: 'POST',
            headers: { 'content-type': 'text/plain' },
            body: JSON.stringify({ email, name: 'x' }),
          }),
          415,
          'unsupported_media_type',
        );
        await expectError(await api('/api/users', { method: 'POST', body: JSON.stringify({ email, name: 'x' }) }), 415);
        const again = await api('/api/users', json({ email, name: 'x' }));
        expect(again.status).toBe(201);
      });

      it('400 for malformed JSON and for bodies that break the schema', async () => {
        await expectError(
          await api('/api/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email": ' }),
          400,
        );
        await expectError(await api('/api/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '' }), 400);
        const missing = await expectError(await api('/api/users', json({ email: uniqueEmail() })), 400, 'invalid_body');
        expect(missing.message).toContain('name');
        await expectError(await api('/api/users', json({ email: 'not-an-email', name: 'x' })), 400, 'invalid_body');
        await expectError(await api('/api/users', json({ email: uniqueEmail(), name: 'x', admin: true })), 400, 'invalid_body');
        await expectError(await api('/api/users', json([1, 2, 3])), 400, 'invalid_body');
        await expectError(await api('/api/users', json({ email: uniqueEmail(), name: 'x'.repeat(201) })), 400, 'invalid_body');
        await expectError(await api('/api/users', json({ email: uniqueEmail(), name: 'nul\u0000byte' })), 400, 'invalid_body');
      });

      it('413 for a body over the limit', async () => {
        const body = JSON.stringify({ email: uniqueEmail(), name: 'x'.repeat(70 * 1024) });
        await expectError(
          await api('/api/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body }),
          413,
          'payload_too_large',
        );
      });

      it('404 with the JSON error shape for unknown routes; the request id is echoed', async () => {
        const response = await api('/api/nothing-here', { headers: { 'x-request-id': 'trace-abc-123' } });
        expect(response.headers.get('x-request-id')).toBe('trace-abc-123');
        await expectError(response, 404, 'not_found');
        await expectError(await api('/'), 404, 'not_found');
      });

      it('405 with Allow for a known path and an unsupported method; HEAD works like GET without a body', async () => {
        const user = await createUser();
        const put = await api(`/api/users/${user.id}`, json({ name: 'x' }, 'PUT'));
        expect(put.headers.get('allow')).toBe('GET, HEAD, PATCH, DELETE');
        await expectError(put, 405, 'method_not_allowed');
        await expectError(await api('/api/users', { method: 'DELETE' }), 405, 'method_not_allowed');
        await expectError(await api(`/api/tasks/${user.id}`, { method: 'POST' }), 405, 'method_not_allowed');
        const head = await api(`/api/users/${user.id}`, { method: 'HEAD' });
        expect(head.status).toBe(200);
        expect(await head.text()).toBe('');
        expect(await (await api(`/api/users/${user.id}`)).json()).toEqual(user);
      });

      it('never answers 5xx to random bodies, queries and ids (property)', async () => {
        const user = await createUser();
        const requests = fc.oneof(
          fc.record({
            method: fc.constantFrom('POST', 'PATCH'),
            path: fc.constantFrom('/api/users', `/api/users/${user.id}`),
            body: fc.jsonValue(),
          }),
          fc.record({ method: fc.constant('POST'), path: fc.constant(`/api/users/${user.id}/tasks`), body: fc.jsonValue() }),
          fc.record({
            method: fc.constant('POST'),
            path: fc.constant('/api/users'),
            body: fc.record({ email: fc.oneof(fc.string(), fc.emailAddress()), name: fc.string() }, { requiredKeys: [] }),
          }),
          fc.record({
            method: fc.constant('GET'),
            path: fc
              .tuple(
                fc.constantFrom('/api/users?', `/api/users/${user.id}/tasks?`),
                fc.dictionary(fc.constantFrom('limit', 'cursor', 'done', 'x'), fc.string()),
              )
              .map(([base, query]) => base + new URLSearchParams(query).toString()),
            body: fc.constant(undefined),
          }),
          fc.record({
            method: fc.constantFrom('GET', 'PATCH', 'DELETE'),
            path: fc.string({ maxLength: 40 }).map((id) => `/api/tasks/${encodeURIComponent(id)}`),
            body: fc.constant(undefined),
          }),
        );
        await fc.assert(
          fc.asyncProperty(requests, async ({ method, path, body }) => {
            const init: RequestInit = { method };
            if (body !== undefined) Object.assign(init, json(body, method));
            const response = await api(path, init);
            const text = await response.text();
            expect(response.status, `${method} ${path} ${JSON.stringify(body)} -> ${text}`).toBeLessThan(500);
            if (response.status >= 400) expect(JSON.parse(text)).toHaveProperty('error.code');
          }),
          { numRuns: 60 },
        );
        // The user the properties aimed at is still there (a PATCH may have renamed it, nothing deleted it).
        expect((await api(`/api/users/${user.id}`)).status).toBe(200);
      });
    });

    describe('health', () => {
      it('GET /api/health passes with a latency per dependency, as application/health+json', async () => {
        const response = await api('/api/health');
        const body = (await response.json()) as {
          status: string;
          checks: Record<string, Array<{ status: string; observedValue: number; observedUnit: string }>>;
        };
        expect(response.status, JSON.stringify(body)).toBe(200);
        expect(response.headers.get('content-type')).toMatch(/^application\/health\+json/);
        expect(body.status).toBe('pass');
        const expected = target().redis ? ['postgres:responseTime', 'redis:responseTime'] : ['postgres:responseTime'];
        expect(Object.keys(body.checks).sort()).toEqual(expected);
        for (const [check] of Object.values(body.checks)) {
          expect(check).toMatchObject({ status: 'pass', observedUnit: 'ms' });
          expect(check!.observedValue).toBeGreaterThanOrEqual(0);
        }
      });

      it('GET /livez answers without touching dependencies', async () => {
        const response = await api('/livez');
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({ status: 'pass' });
      });
    });
  });
}
