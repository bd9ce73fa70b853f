// drizzle-kit configuration: `npm run db:generate` writes SQL migrations from drizzle/schema.ts into
// drizzle/migrations (committed). The same files are applied to PostgreSQL (postgres.js) and PGlite.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './drizzle/schema.ts',
  out: './drizzle/migrations',
});
