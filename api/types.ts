// The Hono environment shared by the app and its routes.

import type { UserCache } from './cache.js';
import type { Database } from './db/types.js';
import type { Repository } from './repository.js';

export interface AppVariables {
  requestId: string;
  database: Database;
  repository: Repository;
  /** Present when Redis is configured. */
  userCache?: UserCache;
}

export interface AppEnv {
  Variables: AppVariables;
}
