// Preloaded into a pcapdiag run (`node --import bench/thread-cpu.mjs …`) by profile.mjs: at exit,
// writes the CPU time of each of the process's threads (Linux /proc/self/task, in clock ticks) as
// JSON to the file named by PCAPDIAG_THREAD_CPU: the main thread's, and the rest's (V8's garbage
// collector and compiler helpers, libuv's pool), to show how busy the second core already is.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const out = process.env.PCAPDIAG_THREAD_CPU;
if (out !== undefined) {
  process.on('exit', () => {
    const threads = readdirSync('/proc/self/task').map((tid) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return { main: tid === String(process.pid), user: Number(f[11]), sys: Number(f[12]) };
    });
    writeFileSync(out, JSON.stringify(threads));
  });
}
