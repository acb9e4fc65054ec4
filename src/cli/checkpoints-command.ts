import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize } from 'node:v8';
import { LevelCheckpointStorage } from '../state/leveldb-checkpoint-storage.js';
import { ConfigError } from '../runtime/errors.js';
import type { CheckpointMeta } from '../runtime/checkpoint-storage.js';
import type { CliCommand } from './command.js';

const USAGE = `usage: weir checkpoints <stateDir> [--show <id>] [--json]

  List the complete checkpoints of a job's state directory (default of a job: ./.weir/<job>):
  id, time, kind, size and source positions. --show <id> inspects one checkpoint step by step.
  The job must not be running (LevelDB allows one process at a time). A scaled-out job keeps one
  state directory per task: <stateDir>/tasks/<partition>.
`;

function kindOf(meta: CheckpointMeta): string {
  return meta.final ? 'final' : meta.savepoint ? 'savepoint' : 'periodic';
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** A short description of a step's state, without printing all of it. */
function summarize(value: unknown): string {
  if (value === undefined) return 'no state';
  if (Array.isArray(value)) return `array(${value.length})`;
  if (value instanceof Map) return `map(${value.size})`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    return `{ ${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', …' : ''} }`;
  }
  return JSON.stringify(value);
}

/** `weir checkpoints`: list and inspect a job's checkpoints. */
export const command: CliCommand = {
  name: 'checkpoints',
  summary: "list or inspect a job's checkpoints",
  usage: USAGE,
  async run(args, io) {
    const stateDir = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--show');
    if (stateDir === undefined) throw new ConfigError(`checkpoints: a state directory is required\n${USAGE}`);
    const showAt = args.indexOf('--show');
    const showId = showAt === -1 ? undefined : Number(args[showAt + 1]);
    if (showAt !== -1 && !Number.isInteger(showId)) throw new ConfigError(`checkpoints: --show expects a checkpoint id, got ${JSON.stringify(args[showAt + 1])}`);
    const json = args.includes('--json');
    const tasks = join(stateDir, 'tasks');
    if (!existsSync(join(stateDir, 'checkpoints')) && existsSync(tasks)) {
      const ids = readdirSync(tasks).sort((a, b) => Number(a) - Number(b));
      io.out(`${stateDir} is the state of a scaled-out job: one checkpoint directory per task (${ids.join(', ')}); list one with\n  weir checkpoints ${join(tasks, ids[0] ?? '<n>')}\n`);
      return 0;
    }
    const storage = await LevelCheckpointStorage.open(stateDir);
    try {
      const metas = await storage.list();
      if (showId === undefined) {
        if (json) {
          io.out(`${JSON.stringify(metas, null, 2)}\n`);
          return 0;
        }
        if (metas.length === 0) {
          io.out(`no complete checkpoint in ${stateDir}\n`);
          return 0;
        }
        io.out(`${'id'.padStart(6)}  ${'created'.padEnd(24)}  ${'kind'.padEnd(9)}  ${'size'.padStart(10)}  ${'took'.padStart(7)}  positions\n`);
        for (const m of metas) {
          io.out(
            `${String(m.id).padStart(6)}  ${new Date(m.createdAt).toISOString().padEnd(24)}  ${kindOf(m).padEnd(9)}  ${size(m.bytes).padStart(10)}  ${`${m.durationMs} ms`.padStart(7)}  ${JSON.stringify(m.positions)}\n`,
          );
        }
        return 0;
      }
      const meta = metas.find((m) => m.id === showId);
      if (meta === undefined) {
        io.err(`no complete checkpoint ${showId} in ${stateDir}; available: ${metas.map((m) => m.id).join(', ') || 'none'}\n`);
        return 1;
      }
      const entries = await storage.read(meta);
      const steps = Object.entries(meta.steps).map(([step, info]) => {
        const state = deserialize(entries.get(step)!) as unknown;
        return { step, kind: info.kind, bytes: info.bytes, state };
      });
      if (json) {
        io.out(`${JSON.stringify({ ...meta, steps }, (_k, v: unknown) => (v instanceof Map ? [...v] : typeof v === 'bigint' ? String(v) : v), 2)}\n`);
        return 0;
      }
      io.out(`checkpoint ${meta.id} of job "${meta.job}" (${kindOf(meta)}), ${new Date(meta.createdAt).toISOString()}, ${size(meta.bytes)}, took ${meta.durationMs} ms\n`);
      for (const s of steps) {
        const detail = s.kind === 'source' ? JSON.stringify((s.state as { position: unknown }).position) : s.kind === 'sink' ? JSON.stringify(s.state) : summarize(s.state);
        io.out(`  ${s.kind.padEnd(8)}  ${s.step.padEnd(24)}  ${size(s.bytes).padStart(10)}  ${detail}\n`);
      }
      return 0;
    } finally {
      await storage.close();
    }
  },
};
