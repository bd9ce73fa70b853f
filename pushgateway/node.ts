// `npm run gateway`: the gateway alone on Node. A bad variable stops start-up with one message naming
// every problem; on SIGTERM/SIGINT it stops accepting, writes its last snapshot and exits.
import { ConfigError, EnvReader } from './config/env.js';
import { readGatewayConfig } from './config/gateway.js';
import { createGatewayLogger, logLevels, startGateway } from './server.js';

try {
  const reader = new EnvReader(process.env);
  const { config, logLevel } = reader.finish({ config: readGatewayConfig(reader), logLevel: reader.oneOf('LOG_LEVEL', logLevels, 'info') });

  const gateway = await startGateway({ config, logger: createGatewayLogger(logLevel) });

  // stop() is idempotent: a second signal while stopping waits for the same shutdown, so the last snapshot is
  // still written (killing at once would lose what was acknowledged since the previous one).
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => void gateway.stop().then(() => process.exit(0)));
  }
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`gateway: ${error.message}`);
  process.exit(1);
}
