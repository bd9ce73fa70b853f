// What really listens, read from the kernel's socket table rather than from what a process says.
import { readFileSync } from 'node:fs';

/** Local addresses (hex, as in /proc/net/tcp*, e.g. 0100007F for 127.0.0.1) of the sockets listening on `port`. */
export function listeningAddresses(port: number): string[] {
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  const addresses: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue; // no IPv6 on this kernel
    }
    for (const row of text.trim().split('\n').slice(1)) {
      const [, local, , state] = row.trim().split(/\s+/);
      const [address, localPort] = (local ?? '').split(':');
      if (state === '0A' && localPort === portHex && address) addresses.push(address);
    }
  }
  return addresses;
}
