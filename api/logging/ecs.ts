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
  Object.assign(record, redactSecrets(fields));
  if (err instanceof Error) record.error = ecsError(err);
  else if (err !== undefined) record.err = redactSecrets(err);
  if (message !== undefined) record.message = message;
  return record;
}
