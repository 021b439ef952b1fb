// Test helper (imported by *.test.ts only): stand-ins for --python that are not our worker (shell
// scripts that sleep, print a boot line and stop, crash), and the check that a killed one is gone.
import fs from 'node:fs';
import path from 'node:path';

/** A shell script in DIR standing in for --python (the arguments the caller passes are ignored). */
export function fakePython(dir: string, name: string, body: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return f;
}

/** A stand-in that writes its pid to PIDFILE and sleeps: it never says anything. */
export function sleeperPython(dir: string, pidFile: string): string {
  return fakePython(dir, 'sleeper', `echo $$ > '${pidFile}'\nexec sleep 60`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether the process of the pid in PIDFILE is gone within 2.5 s (a kill is not instant). */
export async function goneSoon(pidFile: string): Promise<boolean> {
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  return !alive(pid);
}
