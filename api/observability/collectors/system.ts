// Host metrics for Node: CPU, memory, disk and network, read from the OS (Linux /proc where Node has no API).
import { readFile, statfs } from 'node:fs/promises';
import { cpus, freemem, totalmem } from 'node:os';
import type { ApiMetrics } from '../metrics.js';
import { type HostOwnership, hostOwnership } from './host-owner.js';
import type { Collector } from './scheduler.js';

interface CpuTimes {
  busy: number;
  total: number;
}

function cpuTimes(): CpuTimes {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    busy += all - times.idle;
    total += all;
  }
  return { busy, total };
}

/** MemAvailable (what can be used without swapping) where Linux reports it; os.freemem() elsewhere. */
async function availableMemory(): Promise<number> {
  try {
    const match = /^MemAvailable:\s+(\d+) kB$/m.exec(await readFile('/proc/meminfo', 'utf8'));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // not Linux
  }
  return freemem();
}

/** Total rx/tx bytes over all interfaces but loopback, from /proc/net/dev (Linux). */
export function parseNetDev(text: string): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const line of text.split('\n').slice(2)) {
    const [name, data] = line.split(':');
    if (!data || name!.trim() === 'lo') continue;
    const fields = data.trim().split(/\s+/).map(Number);
    rx += fields[0] ?? 0;
    tx += fields[8] ?? 0;
  }
  return { rx, tx };
}

export function systemCollectors(
  metrics: ApiMetrics,
  {
    diskPath = process.cwd(),
    netDevPath = '/proc/net/dev',
    owner = hostOwnership(),
  }: { diskPath?: string; netDevPath?: string; owner?: HostOwnership } = {},
): Collector[] {
  let lastCpu = cpuTimes();
  let lastNet: { rx: number; tx: number } | undefined;
  return [
    {
      name: 'system.cpu',
      async collect() {
        const now = cpuTimes();
        const total = now.total - lastCpu.total;
        if (total > 0) metrics.systemCpuUsagePercent.set((100 * (now.busy - lastCpu.busy)) / total);
        lastCpu = now;
      },
    },
    {
      name: 'system.memory',
      async collect() {
        metrics.systemMemoryUsageBytes.set(totalmem() - (await availableMemory()));
      },
    },
    {
      name: 'system.disk',
      async collect() {
        const stats = await statfs(diskPath);
        // Used as `df` shows it: blocks not free, against what non-root users can have (used + available).
        const used = stats.blocks - stats.bfree;
        const usable = used + stats.bavail;
        if (usable > 0) metrics.systemDiskUsagePercent.set((100 * used) / usable);
      },
    },
    {
      name: 'system.network',
      async collect() {
        // Only the host's owner counts (host-owner.ts); one that takes over counts from its first reading as owner,
        // so traffic the previous owner may have counted is not counted again.
        if (!(await owner.isOwner())) {
          lastNet = undefined;
          return;
        }
        const now = parseNetDev(await readFile(netDevPath, 'utf8'));
        // The host's totals include traffic from before this instance started; the counter counts from the first reading.
        if (lastNet) {
          // Interface counters can wrap or reset (interface re-created): count from the new value then.
          metrics.systemNetworkIoBytesTotal.inc({ direction: 'rx' }, now.rx >= lastNet.rx ? now.rx - lastNet.rx : now.rx);
          metrics.systemNetworkIoBytesTotal.inc({ direction: 'tx' }, now.tx >= lastNet.tx ? now.tx - lastNet.tx : now.tx);
        } else {
          metrics.systemNetworkIoBytesTotal.inc({ direction: 'rx' }, 0);
          metrics.systemNetworkIoBytesTotal.inc({ direction: 'tx' }, 0);
        }
        lastNet = now;
      },
    },
  ];
}
