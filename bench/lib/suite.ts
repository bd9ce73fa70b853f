import type { Table } from './report.js';
import type { BenchSettings } from './rounds.js';

export interface Suite {
  name: string;
  /** One line for `npm run bench -- --list`. */
  description: string;
  /** The name of a suite that already runs this one: a run of every suite then skips it. */
  partOf?: string;
  run(settings: BenchSettings, log: (line: string) => void): Promise<Table[]>;
}
