// /api/users and /api/users/:id/tasks.
import { Hono } from 'hono';
import { z } from 'zod';
import { pageQuerySchema, defaultPageSize } from '../pagination.js';
import type { AppEnv } from '../types.js';
import { requireJson, storableText, validate } from '../validation.js';
import { methodNotAllowed, notFound, pathId } from './path-errors.js';
import { createTaskSchema } from './tasks.js';

const email = storableText().trim().toLowerCase().max(254).pipe(z.email('email must be an email address'));
const name = storableText().trim().min(1, 'name must not be empty').max(200, 'name must be at most 200 characters');

export const createUserSchema = z.strictObject({ email, name });
export const updateUserSchema = z
  .strictObject({ email: email.optional(), name: name.optional() })
  .refine((patch) => patch.email !== undefined || patch.name !== undefined, 'give at least one of email, name');

const taskListQuery = pageQuerySchema.extend({
  done: z
    .enum(['true', 'false'], 'done must be true or false')
    .transform((value) => value === 'true')
    .optional(),
});

export function usersRoutes() {
  return new Hono<AppEnv>()
    .post('/', requireJson(), validate('json', createUserSchema), async (c) => {
      const user = await c.var.repository.createUser(c.req.valid('json'));
      return c.json(user, 201, { Location: `/api/users/${user.id}` });
    })
    .get('/', validate('query', pageQuerySchema), async (c) => {
      const { limit = defaultPageSize, cursor } = c.req.valid('query');
      return c.json(await c.var.repository.listUsers({ limit, after: cursor }));
    })
    .get('/:id', async (c) => {
      const id = pathId(c, 'user');
      const cache = c.var.userCache;
      const cached = cache ? await cache.get(id) : undefined;
      if (cached?.value) return c.json(cached.value, 200, { 'X-Cache': 'HIT' });
      const user = await c.var.repository.getUser(id);
      if (!user) throw notFound('user', id);
      if (cache && cached?.outcome === 'MISS') await cache.set(id, user);
      return c.json(user, 200, cached ? { 'X-Cache': cached.outcome } : {});
    })
    .patch('/:id', requireJson(), validate('json', updateUserSchema), async (c) => {
      const id = pathId(c, 'user');
      const user = await c.var.repository.updateUser(id, c.req.valid('json'));
      if (!user) throw notFound('user', id);
      await c.var.userCache?.invalidate(id);
      return c.json(user);
    })
    .delete('/:id', async (c) => {
      const id = pathId(c, 'user');
      const deleted = await c.var.repository.deleteUser(id);
      if (!deleted) throw notFound('user', id);
      await c.var.userCache?.invalidate(id);
      return c.body(null, 204);
    })
    .post('/:id/tasks', requireJson(), validate('json', createTaskSchema), async (c) => {
      const userId = pathId(c, 'user');
      const task = await c.var.repository.createTask(userId, c.req.valid('json'));
      if (!task) throw notFound('user', userId);
      return c.json(task, 201, { Location: `/api/tasks/${task.id}` });
    })
    .get('/:id/tasks', validate('query', taskListQuery), async (c) => {
      const userId = pathId(c, 'user');
      const { limit = defaultPageSize, cursor, done } = c.req.valid('query');
      if (!(await c.var.repository.userExists(userId))) throw notFound('user', userId);
      return c.json(await c.var.repository.listTasks(userId, { limit, after: cursor, done }));
    })
    .all('/', methodNotAllowed(['GET', 'HEAD', 'POST']))
    .all('/:id', methodNotAllowed(['GET', 'HEAD', 'PATCH', 'DELETE']))
    .all('/:id/tasks', methodNotAllowed(['GET', 'HEAD', 'POST']));
}
