// ECS shape shared by the Node logger (`@elastic/ecs-pino-format`) and the Workers logger (pino's browser
// build, which has no `formatters.bindings` and no serializers pipeline, so the same fields are built here).
import { redactSecrets } from './redact.js';

/** The ECS version `@elastic/ecs-pino-format` 1.5 stamps on every line (from `@elastic/ecs-helpers`). */
export const ecsVersion = '8.10.0';

export interface ServiceFields {
  serviceName: string;
  serviceVersion?: string;
  environment?: string;
}

/** `service.*`, `event.dataset` and `ecs.version`, in the order ecs-pino-format writes them. */
export function staticEcsFields(service: ServiceFields): Record<string, string> {
  const fields: Record<string, string> = { 'ecs.version': ecsVersion, 'service.name': service.serviceName };
  if (service.serviceVersion) fields['service.version'] = service.serviceVersion;
  if (service.environment) fields['service.environment'] = service.environment;
  fields['event.dataset'] = service.serviceName;
  return fields;
}

// ECS fields that are objects in the index template. A log call passing one of them as a plain value (say
// `{ url: 'http://…' }`) would be refused by Elasticsearch ("tried to parse field [url] as object, but found a
// concrete value") and the whole line lost, so such a value is moved to `labels.<name>` instead.
const ecsObjectRoots = [
  'url',
  'http',
  'user',
  'error',
  'event',
  'service',
  'host',
  'process',
  'trace',
  'log',
  'client',
  'user_agent',
  'ecs',
  'labels',
];

export function avoidEcsConflicts(record: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const root of ecsObjectRoots) {
    const value = record[root];
    if (value === undefined || value === null || (typeof value === 'object' && !Array.isArray(value))) continue;
    copy ??= { ...record };
    delete copy[root];
    const labels = { ...((copy.labels as Record<string, unknown> | undefined) ?? {}) };
    labels[root] = typeof value === 'string' ? value : JSON.stringify(value);
    copy.labels = labels;
  }
  return copy ?? record;
}

/** What `@elastic/ecs-helpers` `formatError` writes for an Error. */
export function ecsError(err: Error): { type: string; message: string; stack_trace: string | undefined } {
  return {
    type: typeof err.constructor === 'function' ? err.constructor.name : err.name,
    message: err.message,
    stack_trace: err.stack,
  };
}

/**
 * Builds the Workers line from what pino's browser build hands to `formatters.log`: level already mapped to
 * `log.level`, bindings and the merging object merged in, message under `message`.
 */
export function ecsRecord(logObject: Record<string, unknown>, service: ServiceFields, now: Date): Record<string, unknown> {
  const { 'log.level': level, message, err, ...fields } = logObject;
  const record: Record<string, unknown> = { 'log.level': level, '@timestamp': now.toISOString(), ...staticEcsFields(service) };
  Object.assign(record, avoidEcsConflicts(redactSecrets(fields)));
  if (err instanceof Error) record.error = ecsError(err);
  else if (err !== undefined) record.err = redactSecrets(err);
  if (message !== undefined) record.message = message;
  return record;
}
