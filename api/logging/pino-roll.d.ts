// pino-roll 4 ships no types: its default export opens the first file and resolves to a sonic-boom stream.
declare module 'pino-roll' {
  import type { EventEmitter } from 'node:events';

  interface RollingFileStream extends EventEmitter {
    write(data: string): boolean;
    end(): void;
  }
  interface PinoRollOptions {
    file: string;
    size?: string | number;
    frequency?: string | number;
    limit?: { count?: number; removeOtherLogFiles?: boolean };
    mkdir?: boolean;
    extension?: string;
  }
  export default function build(options: PinoRollOptions): Promise<RollingFileStream>;
}
