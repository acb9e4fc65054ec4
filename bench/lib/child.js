// Runs one implementation of one benchmark case in this (fresh) process and prints one JSON line:
// { events, ms, checksum, maxRssMb }. A fresh process per measurement makes peak RSS mean
// something and keeps one case's garbage and JIT state out of the next.
//   node bench/lib/child.js <module> <case> <weir|baseline> <events> [--prof <file>]
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const [modulePath, caseName, impl, eventsArg, flag, profFile] = process.argv.slice(2);
const events = Number(eventsArg);
const mod = await import(pathToFileURL(resolve(modulePath)).href);
const benchCase = mod.cases[caseName];
if (!benchCase) throw new Error(`bench ${modulePath}: no case ${caseName}`);
const input = benchCase.prepare ? await benchCase.prepare(events) : undefined;

let session;
if (flag === '--prof') {
  session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
const start = process.hrtime.bigint();
const checksum = await benchCase[impl](events, input);
const ms = Number(process.hrtime.bigint() - start) / 1e6;
if (session) {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(profFile, JSON.stringify(profile));
  session.disconnect();
}
const maxRssMb = process.resourceUsage().maxRSS / 1024;
process.stdout.write(JSON.stringify({ events, ms, checksum: String(checksum), maxRssMb }) + '\n');
