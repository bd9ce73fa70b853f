// `npm run setup:elasticsearch`: applies the logs ILM policy and index template to the cluster at
// ELASTICSEARCH_URL, then imports the Kibana saved objects (data view, saved searches, dashboard) into the
// Kibana at KIBANA_URL. Idempotent: re-run after changing any of the files.
//
//   ELASTICSEARCH_URL              e.g. http://127.0.0.1:9200 (compose: the `logging` profile)
//   ELASTICSEARCH_API_KEY | ELASTICSEARCH_USERNAME + ELASTICSEARCH_PASSWORD   a user allowed to manage
//                                  ILM and templates (compose: `elastic`); also used for Kibana
//   KIBANA_URL                     e.g. http://127.0.0.1:5601; unset = skip the saved objects
//   LOG_RETENTION_DAYS             delete backing indices this many days after rollover (default 30)
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@elastic/elasticsearch';
import { createElasticsearchClient, type ElasticsearchConnection } from '../../api/logging/transport-client.js';
import { authorizationHeader } from '../../api/logging/transport-fetch.js';

const here = dirname(fileURLToPath(import.meta.url));
export const policyName = 'logs-api';
export const templateName = 'logs-api';
export const indexTemplatePath = join(here, 'index-template.json');
export const ilmPolicyPath = join(here, 'ilm-policy.json');
export const savedObjectsPath = join(here, '..', 'kibana', 'saved-objects.ndjson');

export function readIndexTemplate(): Record<string, unknown> {
  return JSON.parse(readFileSync(indexTemplatePath, 'utf8'));
}

/** The ILM policy with the delete phase at `retentionDays`. */
export function ilmPolicy(retentionDays: number): { policy: Record<string, unknown> } {
  const body = JSON.parse(readFileSync(ilmPolicyPath, 'utf8')) as { policy: { phases: { delete: { min_age: string } } } };
  body.policy.phases.delete.min_age = `${retentionDays}d`;
  return body as unknown as { policy: Record<string, unknown> };
}

export async function applyElasticsearchSetup(client: Client, retentionDays: number): Promise<void> {
  await client.ilm.putLifecycle({ name: policyName, ...ilmPolicy(retentionDays) } as never);
  await client.indices.putIndexTemplate({ name: templateName, ...readIndexTemplate() } as never);
}

export interface KibanaImportResult {
  success: boolean;
  successCount: number;
  errors?: unknown[];
}

/**
 * Imports the saved objects, waiting while Kibana answers 503 or refuses connections: it reports healthy to
 * compose before its saved-objects service is ready ("Kibana server is not ready yet").
 */
export async function importKibanaSavedObjects(
  kibanaUrl: string,
  authorization: string | undefined,
  { waitMs = 120_000, retryEveryMs = 3_000 }: { waitMs?: number; retryEveryMs?: number } = {},
): Promise<KibanaImportResult> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await importOnce(kibanaUrl, authorization);
    } catch (error) {
      const notReady = error instanceof KibanaNotReady || (error instanceof TypeError && String(error.message).includes('fetch failed'));
      if (!notReady || Date.now() + retryEveryMs > deadline) throw error;
      console.log(`Kibana not ready (${(error as Error).message}); retrying in ${retryEveryMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, retryEveryMs));
    }
  }
}

class KibanaNotReady extends Error {}

async function importOnce(kibanaUrl: string, authorization: string | undefined): Promise<KibanaImportResult> {
  const form = new FormData();
  form.append('file', new Blob([readFileSync(savedObjectsPath)], { type: 'application/ndjson' }), 'saved-objects.ndjson');
  const headers: Record<string, string> = { 'kbn-xsrf': 'setup-elasticsearch' };
  if (authorization) headers.authorization = authorization;
  const response = await fetch(`${kibanaUrl.replace(/\/+$/, '')}/api/saved_objects/_import?overwrite=true`, {
    method: 'POST',
    headers,
    body: form,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (response.status === 503) throw new KibanaNotReady(`503 ${text.slice(0, 200)}`);
  if (!response.ok) throw new Error(`Kibana saved objects import failed: ${response.status} ${text.slice(0, 500)}`);
  const result = JSON.parse(text) as KibanaImportResult;
  if (!result.success) throw new Error(`Kibana saved objects import reported errors: ${JSON.stringify(result.errors).slice(0, 1000)}`);
  return result;
}

function requiredInteger(name: string, fallback: number): number {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new Error(`${name} must be a whole number of days ≥ 1, got "${raw}"`);
  return Number(raw);
}

async function main(): Promise<void> {
  const url = process.env.ELASTICSEARCH_URL?.trim();
  if (!url) throw new Error('ELASTICSEARCH_URL is not set (e.g. http://127.0.0.1:9200)');
  const connection: ElasticsearchConnection = { url };
  if (process.env.ELASTICSEARCH_API_KEY) connection.apiKey = process.env.ELASTICSEARCH_API_KEY;
  else if (process.env.ELASTICSEARCH_USERNAME) {
    connection.username = process.env.ELASTICSEARCH_USERNAME;
    connection.password = process.env.ELASTICSEARCH_PASSWORD ?? '';
  }
  const retentionDays = requiredInteger('LOG_RETENTION_DAYS', 30);
  const client = createElasticsearchClient(connection);
  try {
    await applyElasticsearchSetup(client, retentionDays);
    console.log(
      `Elasticsearch: ILM policy "${policyName}" (delete after ${retentionDays}d) and index template "${templateName}" (logs-api-*) applied`,
    );
  } finally {
    await client.close();
  }
  const kibanaUrl = process.env.KIBANA_URL?.trim();
  if (!kibanaUrl) {
    console.log('KIBANA_URL not set: Kibana saved objects not imported');
    return;
  }
  const result = await importKibanaSavedObjects(kibanaUrl, authorizationHeader(connection));
  console.log(
    `Kibana: ${result.successCount} saved objects imported (data view logs-api-*, searches "Errors" and "Requests of a user", dashboard "API logs")`,
  );
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
