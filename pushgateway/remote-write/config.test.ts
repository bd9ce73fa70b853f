import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config/env.js';
import { loadGatewayConfig } from '../config/gateway.js';

describe('GATEWAY_REMOTE_WRITE_* settings', () => {
  it('is off without GATEWAY_REMOTE_WRITE_URL', () => {
    expect(loadGatewayConfig({}).remoteWrite).toBeUndefined();
  });

  it('reads every receiver, the interval, bearer auth and extra headers, with defaults for the rest', () => {
    const config = loadGatewayConfig({
      GATEWAY_REMOTE_WRITE_URL: 'http://127.0.0.1:9090/api/v1/write, https://mimir.example/api/v1/push',
      GATEWAY_REMOTE_WRITE_INTERVAL_SECONDS: '30',
      GATEWAY_REMOTE_WRITE_BEARER_TOKEN: 'tok',
      GATEWAY_REMOTE_WRITE_HEADERS: 'X-Scope-OrgID: tenant-1; X-Extra: a:b',
    }).remoteWrite;
    expect(config).toEqual({
      urls: ['http://127.0.0.1:9090/api/v1/write', 'https://mimir.example/api/v1/push'],
      intervalSeconds: 30,
      auth: { kind: 'bearer', token: 'tok' },
      headers: { 'X-Scope-OrgID': 'tenant-1', 'X-Extra': 'a:b' },
      maxQueueBytes: 64 * 1024 * 1024,
      maxSamplesPerSend: 2000,
      shards: 4,
    });
  });

  it('reads basic auth and the queue bound', () => {
    const config = loadGatewayConfig({
      GATEWAY_REMOTE_WRITE_URL: 'http://rx/w',
      GATEWAY_REMOTE_WRITE_USERNAME: 'u',
      GATEWAY_REMOTE_WRITE_PASSWORD: 'p',
      GATEWAY_REMOTE_WRITE_MAX_QUEUE_BYTES: '1048576',
    }).remoteWrite;
    expect(config).toMatchObject({ auth: { kind: 'basic', username: 'u', password: 'p' }, maxQueueBytes: 1_048_576, intervalSeconds: 15 });
  });

  it('names every bad variable at once and never echoes a secret', () => {
    let error: unknown;
    try {
      loadGatewayConfig({
        GATEWAY_REMOTE_WRITE_URL: 'http://ok/w,ftp://user:hunter2@bad/w',
        GATEWAY_REMOTE_WRITE_INTERVAL_SECONDS: '0',
        GATEWAY_REMOTE_WRITE_BEARER_TOKEN: 'tok-secret',
        GATEWAY_REMOTE_WRITE_USERNAME: 'user',
        GATEWAY_REMOTE_WRITE_HEADERS: 'X-Scope-OrgID tenant-secret;Authorization: Basic abc',
        GATEWAY_REMOTE_WRITE_MAX_QUEUE_BYTES: 'lots',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        'GATEWAY_REMOTE_WRITE_URL entry 2 must be an http or https URL',
        expect.stringMatching(/^GATEWAY_REMOTE_WRITE_INTERVAL_SECONDS must be an integer/),
        'GATEWAY_REMOTE_WRITE_USERNAME must be set together with GATEWAY_REMOTE_WRITE_PASSWORD',
        'GATEWAY_REMOTE_WRITE_BEARER_TOKEN and GATEWAY_REMOTE_WRITE_USERNAME/_PASSWORD are exclusive; set one',
        'GATEWAY_REMOTE_WRITE_HEADERS entry 1 must be "Name: value" (pairs separated by ";")',
        expect.stringMatching(/^GATEWAY_REMOTE_WRITE_HEADERS may not set Authorization/),
        expect.stringMatching(/^GATEWAY_REMOTE_WRITE_MAX_QUEUE_BYTES must be an integer/),
      ]),
    );
    expect(problems.join('\n')).not.toMatch(/hunter2|tok-secret|tenant-secret|abc/);
  });

  it('refuses credentials or headers without a receiver', () => {
    expect(() => loadGatewayConfig({ GATEWAY_REMOTE_WRITE_BEARER_TOKEN: 't' })).toThrow(
      'GATEWAY_REMOTE_WRITE_BEARER_TOKEN is set but GATEWAY_REMOTE_WRITE_URL is not',
    );
  });
});
