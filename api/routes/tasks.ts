// /api/tasks/:id (tasks are created and listed under their user, see users.ts).
import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../types.js';
import { requireJson, storableText, validate } from '../validation.js';
import { methodNotAllowed, notFound, pathId } from './path-errors.js';

const title = storableText().trim().min(1, 'title must not be empty').max(500, 'title must be at most 500 characters');
const done = z.boolean('done must be true or false');

export const createTaskSchema = z.strictObject({ title, done: done.optional() });
export const updateTaskSchema = z
  .strictObject({ title: title.optional(), done: done.optional() })
  .refine((patch) => patch.title !== undefined || patch.done !== undefined, 'give at least one of title, done');

export function tasksRoutes() {
  return new Hono<AppEnv>()
    .get('/:id', async (c) => {
      const id = pathId(c, 'task');
      const task = await c.var.repository.getTask(id);
      if (!task) throw notFound('task', id);
      return c.json(task);
    })
    .patch('/:id', requireJson(), validate('json', updateTaskSchema), async (c) => {
      const id = pathId(c, 'task');
      const task = await c.var.repository.updateTask(id, c.req.valid('json'));
      if (!task) throw notFound('task', id);
      return c.json(task);
    })
    .delete('/:id', async (c) => {
      const id = pathId(c, 'task');
      if (!(await c.var.repository.deleteTask(id))) throw notFound('task', id);
      return c.body(null, 204);
    })
    .all('/:id', methodNotAllowed(['GET', 'HEAD', 'PATCH', 'DELETE']));
}
