/**
 * Why a lab can't run here, or undefined when it can: root, network namespaces, the native
 * addon and the named programs. Lab tests skip with this reason; `floatd demo` prints it.
 */
import { spawnSync } from 'node:child_process';
import { nativeAvailable } from '../native/addon.js';

function netnsWorks(): boolean {
  const name = `fdprobe${process.pid}`;
  const ok = spawnSync('ip', ['netns', 'add', name]).status === 0;
  spawnSync('ip', ['netns', 'del', name]);
  return ok;
}

export function labUnavailable(programs: string[] = ['nginx', 'nsenter', 'unshare', 'curl']): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root and network namespaces';
  if (!nativeAvailable()) return 'native addon not built (run scripts/build.sh)';
  const missing = programs.filter((b) => spawnSync('which', [b]).status !== 0);
  if (missing.length) return `missing ${missing.join(', ')} (run scripts/setup.sh)`;
  if (!netnsWorks()) return 'needs network namespaces (ip netns add failed)';
  return undefined;
}
