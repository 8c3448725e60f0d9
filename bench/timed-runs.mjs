// Runs the commands a bench times, one at a time, from a small process of its own: each run is started here as a
// shell would start it. Started from the bench itself, every run paid for forking the bench, which holds the server
// under test and its database (about 0.5 GB resident): on this machine, with its whole environment, `node -e 0` took
// 59 ms from a small process, 79 ms from one with 500 MB resident and 112 ms with 1.5 GB. Plain JavaScript, started
// with no loader, so that it stays small.
//   fork('bench/timed-runs.mjs', [], { execArgv: [] }); send { args, env, cwd }; receive { ms, cpuMs, code, stdout, stderr }
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

// CPU time of this process's finished children (Linux /proc/self/stat cutime + cstime, 100 ticks a second): the run
// just finished, all its threads included.
function childCpuMs() {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

process.on('message', ({ args, env, cwd }) => {
  const cpu0 = childCpuMs();
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  process.send({ ms, cpuMs: childCpuMs() - cpu0, code: r.status, stdout: r.stdout, stderr: r.stderr, error: r.error ? String(r.error) : null });
});
