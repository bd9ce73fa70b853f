import { describe, expect, it } from 'vitest';
import { ConfigError, defaultGatewayConfig, loadGatewayConfig } from './config.js';

describe('loadGatewayConfig', () => {
  it('uses the documented defaults', () => {
    expect(loadGatewayConfig({})).toEqual(defaultGatewayConfig);
    expect(defaultGatewayConfig.port).toBe(9091);
  });

  it('reads every variable', () => {
    expect(
      loadGatewayConfig({
        GATEWAY_PORT: '9999', GATEWAY_PUSH_TOKEN: 't', GATEWAY_SCRAPE_USER: 'u', GATEWAY_SCRAPE_PASSWORD: 'p', GATEWAY_STORE: 'redis',
        GATEWAY_PERSISTENCE_FILE: '/tmp/x', GATEWAY_PERSISTENCE_INTERVAL_SECONDS: '30', GATEWAY_GROUP_TTL_SECONDS: '60', GATEWAY_MAX_BODY_BYTES: '1000', GATEWAY_MAX_SERIES: '0', GATEWAY_ENABLE_ADMIN_API: 'true',
      }),
    ).toEqual({ port: 9999, pushToken: 't', scrape: { user: 'u', password: 'p' }, store: 'redis', persistenceFile: '/tmp/x', persistenceIntervalSeconds: 30, groupTtlSeconds: 60, maxBodyBytes: 1000, maxSeries: 0, enableAdminApi: true });
  });

  it.each([
    [{ GATEWAY_PORT: 'x' }, 'GATEWAY_PORT'],
    [{ GATEWAY_PORT: '70000' }, 'GATEWAY_PORT'],
    [{ GATEWAY_STORE: 'file' }, 'GATEWAY_STORE'],
    [{ GATEWAY_GROUP_TTL_SECONDS: '-1' }, 'GATEWAY_GROUP_TTL_SECONDS'],
    [{ GATEWAY_MAX_BODY_BYTES: '0' }, 'GATEWAY_MAX_BODY_BYTES'],
    [{ GATEWAY_MAX_SERIES: '1.5' }, 'GATEWAY_MAX_SERIES'],
    [{ GATEWAY_ENABLE_ADMIN_API: 'yes' }, 'GATEWAY_ENABLE_ADMIN_API'],
    [{ GATEWAY_SCRAPE_USER: 'u' }, 'GATEWAY_SCRAPE_PASSWORD'],
  ])('refuses %j naming the variable', (env, name) => {
    expect(() => loadGatewayConfig(env)).toThrow(ConfigError);
    expect(() => loadGatewayConfig(env)).toThrow(name);
  });
});
