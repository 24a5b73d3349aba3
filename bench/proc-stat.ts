/**
 * CPU time and resident memory of another process, from Linux's /proc, so a
 * benchmark can charge each system the CPU it really used (ringstore's node
 * processes, redis-server) whatever else the machine is running. On a
 * shared 2-core machine, CPU time per operation is a steadier figure than
 * operations per second.
 */
import * as fs from 'node:fs';

/** Clock ticks per second of /proc/PID/stat times (CLK_TCK; 100 on every Linux this runs on). */
const TICKS_PER_S = 100;

/** User + system CPU ms the process has used so far (NaN when it is gone or /proc is missing). */
export function processCpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return ((utime + stime) * 1000) / TICKS_PER_S;
  } catch {
    return NaN;
  }
}

/** Resident set size of the process, bytes (NaN when unknown). */
export function processRssBytes(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}
