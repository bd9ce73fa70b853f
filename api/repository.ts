// Data access for users and tasks over Drizzle: one place that knows the SQL, maps database errors
// (unique and foreign-key violations) to API errors, and shapes rows into their public JSON form.
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { type Task, tasks, type User, users } from '../drizzle/schema.js';
import { sqlState } from './db/errors.js';
import type { AppDatabase } from './db/types.js';
import { ApiError } from './errors.js';
import { type Page, toPage } from './pagination.js';
import { uuidv7 } from './uuid.js';

export interface UserJson {
  id: string;
  email: string;
  name: string;
  createdAt: string;
  updatedAt: string;
}

export interface TaskJson {
  id: string;
  userId: string;
  title: string;
  done: boolean;
  createdAt: string;
  updatedAt: string;
}

export const toUserJson = (user: User): UserJson => ({
  id: user.id,
  email: user.email,
  name: user.name,
  createdAt: user.createdAt.toISOString(),
  updatedAt: user.updatedAt.toISOString(),
});

export const toTaskJson = (task: Task): TaskJson => ({
  id: task.id,
  userId: task.userId,
  title: task.title,
  done: task.done,
  createdAt: task.createdAt.toISOString(),
  updatedAt: task.updatedAt.toISOString(),
});

const uniqueViolation = '23505';
const foreignKeyViolation = '23503';

function duplicateEmail(error: unknown): never {
  if (sqlState(error) === uniqueViolation) throw new ApiError(409, 'conflict', 'A user with this email already exists');
  throw error;
}

export interface PageRequest {
  limit: number;
  after?: string | undefined;
}

function once<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => (built ??= build());
}

export function createRepository(db: AppDatabase) {
  // The point reads, each built on first use and then sent as a named prepared statement: per request Drizzle
  // only fills the id in (no query building), and postgres.js sends Bind/Execute on a statement each connection
  // parsed once. Lazily, so a repository made per request (Workers) builds only the one it runs.
  const byId = sql.placeholder('id');
  const userById = once(() => db.select().from(users).where(eq(users.id, byId)).prepare('user_by_id'));
  const userIdById = once(() => db.select({ id: users.id }).from(users).where(eq(users.id, byId)).prepare('user_exists'));
  const taskById = once(() => db.select().from(tasks).where(eq(tasks.id, byId)).prepare('task_by_id'));
  return {
    async createUser(input: { email: string; name: string }): Promise<UserJson> {
      const [row] = await db
        .insert(users)
        .values({ id: uuidv7(), ...input })
        .returning()
        .catch(duplicateEmail);
      return toUserJson(row!);
    },

    async getUser(id: string): Promise<UserJson | undefined> {
      const [row] = await userById().execute({ id });
      return row && toUserJson(row);
    },

    async userExists(id: string): Promise<boolean> {
      const rows = await userIdById().execute({ id });
      return rows.length > 0;
    },

    async listUsers({ limit, after }: PageRequest): Promise<Page<UserJson>> {
      const rows = await db
        .select()
        .from(users)
        .where(after ? gt(users.id, after) : undefined)
        .orderBy(asc(users.id))
        .limit(limit + 1);
      return toPage(rows.map(toUserJson), limit);
    },

    async updateUser(id: string, patch: { email?: string | undefined; name?: string | undefined }): Promise<UserJson | undefined> {
      const [row] = await db
        .update(users)
        .set({ ...patch, updatedAt: sql`now()` })
        .where(eq(users.id, id))
        .returning()
        .catch(duplicateEmail);
      return row && toUserJson(row);
    },

    async deleteUser(id: string): Promise<boolean> {
      const rows = await db.delete(users).where(eq(users.id, id)).returning({ id: users.id });
      return rows.length > 0;
    },

    /** Undefined when the user does not exist (the foreign key says so, in the same statement). */
    async createTask(userId: string, input: { title: string; done?: boolean | undefined }): Promise<TaskJson | undefined> {
      try {
        const [row] = await db
          .insert(tasks)
          .values({ id: uuidv7(), userId, title: input.title, done: input.done ?? false })
          .returning();
        return toTaskJson(row!);
      } catch (error) {
        if (sqlState(error) === foreignKeyViolation) return undefined;
        throw error;
      }
    },

    async listTasks(userId: string, { limit, after, done }: PageRequest & { done?: boolean | undefined }): Promise<Page<TaskJson>> {
      const rows = await db
        .select()
        .from(tasks)
        .where(
          and(eq(tasks.userId, userId), after ? gt(tasks.id, after) : undefined, done === undefined ? undefined : eq(tasks.done, done)),
        )
        .orderBy(asc(tasks.id))
        .limit(limit + 1);
      return toPage(rows.map(toTaskJson), limit);
    },

    async getTask(id: string): Promise<TaskJson | undefined> {
      const [row] = await taskById().execute({ id });
      return row && toTaskJson(row);
    },

    async updateTask(id: string, patch: { title?: string | undefined; done?: boolean | undefined }): Promise<TaskJson | undefined> {
      const [row] = await db
        .update(tasks)
        .set({ ...patch, updatedAt: sql`now()` })
        .where(eq(tasks.id, id))
        .returning();
      return row && toTaskJson(row);
    },

    async deleteTask(id: string): Promise<boolean> {
      const rows = await db.delete(tasks).where(eq(tasks.id, id)).returning({ id: tasks.id });
      return rows.length > 0;
    },
  };
}

export type Repository = ReturnType<typeof createRepository>;
