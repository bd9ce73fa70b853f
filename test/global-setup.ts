// Vitest global setup: make sure the real services the suite starts are installed. On a fresh Debian
// machine as root, missing packages are installed with apt-get; elsewhere the run stops with a message
// that names the package to install.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const requiredPackages: Array<{ debianPackage: string; present: () => boolean }> = [
  { debianPackage: 'postgresql', present: () => existsSync('/usr/lib/postgresql') && readdirSync('/usr/lib/postgresql').length > 0 },
  { debianPackage: 'redis-server', present: () => existsSync('/usr/bin/redis-server') },
  { debianPackage: 'prometheus', present: () => existsSync('/usr/bin/prometheus') && existsSync('/usr/bin/promtool') },
  { debianPackage: 'prometheus-pushgateway', present: () => existsSync('/usr/bin/prometheus-pushgateway') },
  {
    debianPackage: 'prometheus-alertmanager',
    present: () => existsSync('/usr/bin/prometheus-alertmanager') && existsSync('/usr/bin/amtool'),
  },
  { debianPackage: 'victoria-metrics', present: () => existsSync('/usr/bin/victoria-metrics') },
  { debianPackage: 'docker-compose', present: () => existsSync('/usr/bin/docker-compose') },
  { debianPackage: 'shellcheck', present: () => existsSync('/usr/bin/shellcheck') },
  { debianPackage: 'chromium', present: () => existsSync('/usr/bin/chromium') },
];

export default function setup(): void {
  const missing = requiredPackages.filter((pkg) => !pkg.present()).map((pkg) => pkg.debianPackage);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    throw new Error(
      `The test suite needs these Debian packages: ${missing.join(' ')}. Install them with: apt-get install -y ${missing.join(' ')}`,
    );
  }
  console.log(`[global-setup] installing missing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
}
