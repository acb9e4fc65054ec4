// Read throughput of weir's file source per format, next to the bare library reading the same file.
//
//   npm run build && node bench/formats.js [--rows N] [--formats jsonl,csv,...] [--compression gzip|zstd] [--repeat N]
//
// Writes one temp file per format with weir's file sink (1e6 rows by default; the same records
// for every format: numbers, strings, booleans, nulls and a nested object with an array), then
// times, each in a fresh process: weir's reader driven directly (open + read(4096) until null,
// as the runtime does), and the bare library reading the same file the way its docs show
// (csv-parse stream, parquetjs-lite cursor, avsc file decoder, apache-arrow RecordBatchReader;
// for JSON lines, which has no library, a hand-written split + JSON.parse). Prints rows/s and
// MB/s (of the file on disk) for both and the ratio weir/library. Both sides must count the same
// rows or the run fails. Standalone: it exports no `cases`, so `npm run bench` does not pick it up.
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createGunzip } from 'node:zlib';

const here = fileURLToPath(import.meta.url);
const dist = new URL('../dist/', import.meta.url);
const require = createRequire(import.meta.url);
const FORMATS = ['jsonl', 'csv', 'parquet', 'avro', 'arrow'];
const READ_MAX = 4096;

function record(i) {
  return {
    id: i,
    name: i % 10 === 0 ? null : `user-${i}`,
    ok: i % 3 === 0,
    score: (i * 7919) % 100_000 / 100,
    nested: i % 5 === 0 ? null : { a: i % 1000, tags: ['red', i % 2 === 0 ? 'blue' : 'green'] },
  };
}

async function writeFiles(dir, rows, formats, compression) {
  const { fileSink } = await import(new URL('sinks/file-sink.js', dist).href);
  const { batch } = await import(new URL('runtime/elements.js', dist).href);
  const files = {};
  for (const format of formats) {
    const out = join(dir, format);
    const sink = fileSink({ dir: out, format, compression, name: 'bench' });
    const writer = await sink.open({ job: 'bench', name: 'bench', signal: new AbortController().signal, restored: undefined, now: () => Date.now() });
    const t0 = performance.now();
    const size = 4096;
    for (let i = 0; i < rows; i += size) {
      const records = [];
      for (let k = i; k < Math.min(rows, i + size); k++) records.push(record(k));
      await writer.write(batch(records, []));
    }
    await writer.flush();
    await writer.close();
    const ms = performance.now() - t0;
    const [name] = readdirSync(out).filter((f) => !f.startsWith('.'));
    files[format] = { path: join(out, name), writeMs: ms };
  }
  return files;
}

/** Modules each side needs, loaded before the clock starts. */
async function preload(format, impl) {
  if (impl === 'weir') return { fileSource: (await import(new URL('sources/file-source.js', dist).href)).fileSource };
  return {
    csv: format === 'csv' ? await import('csv-parse') : undefined,
    arrow: format === 'arrow' ? await import('apache-arrow') : undefined,
    parquet: format === 'parquet' ? require('parquetjs-lite') : undefined,
    avro: format === 'avro' ? require('avsc') : undefined,
    zstd: require('zstd-napi'),
  };
}

/** Each implementation reads `path` and resolves to the number of rows it produced. */
const implementations = {
  async weir(format, path, extra, { fileSource }) {
    const source = fileSource({ path, format, ...extra });
    const reader = await source.open({ job: 'bench', name: 'bench', signal: new AbortController().signal, restored: undefined, now: () => Date.now() });
    let rows = 0;
    let check = 0;
    for (;;) {
      let chunk = reader.read(READ_MAX);
      if (chunk !== null && typeof chunk.then === 'function') chunk = await chunk;
      if (chunk === null) break;
      rows += chunk.records.length;
      if (chunk.records.length > 0) check += extra.arrow === 'batches' ? chunk.records[0].numRows : chunk.records[0].id === null ? 0 : 1;
    }
    await reader.close();
    if (extra.arrow === 'batches') rows = check;
    return rows;
  },
  async library(format, path, _extra, modules) {
    const input = () => {
      const raw = createReadStream(path, { highWaterMark: 1 << 20 });
      if (path.endsWith('.gz')) return raw.pipe(createGunzip());
      if (path.endsWith('.zst')) return raw.pipe(new modules.zstd.DecompressStream());
      return raw;
    };
    switch (format) {
      case 'jsonl': {
        let rows = 0;
        let rest = '';
        for await (const chunk of input()) {
          const lines = (rest + chunk.toString('utf8')).split('\n');
          rest = lines.pop();
          for (const line of lines) if (line !== '') (JSON.parse(line), rows++);
        }
        if (rest !== '') (JSON.parse(rest), rows++);
        return rows;
      }
      case 'csv': {
        const { parse } = modules.csv;
        let rows = 0;
        for await (const row of input().pipe(parse({ columns: true }))) if (row) rows++;
        return rows;
      }
      case 'parquet': {
        const parquet = modules.parquet;
        const compressed = path.endsWith('.gz') || path.endsWith('.zst');
        let buffer;
        if (compressed) {
          const parts = [];
          for await (const c of input()) parts.push(c);
          buffer = Buffer.concat(parts);
        }
        const reader = compressed ? await parquet.ParquetReader.openBuffer(buffer, { rawStatistics: true }) : await parquet.ParquetReader.openFile(path, { rawStatistics: true });
        const cursor = reader.getCursor();
        let rows = 0;
        while ((await cursor.next()) !== null) rows++;
        await reader.close();
        return rows;
      }
      case 'avro': {
        const avro = modules.avro;
        let rows = 0;
        await new Promise((resolve, reject) => {
          input().pipe(new avro.streams.BlockDecoder()).on('data', () => rows++).on('end', resolve).on('error', reject);
        });
        return rows;
      }
      case 'arrow': {
        const arrow = modules.arrow;
        let rows = 0;
        const reader = await arrow.RecordBatchReader.from(input());
        for await (const batch of reader) {
          for (let i = 0; i < batch.numRows; i++) (batch.get(i).toJSON(), rows++);
        }
        return rows;
      }
    }
    throw new Error(`unknown format ${format}`);
  },
};

async function child([format, impl, path, extraJson]) {
  const extra = JSON.parse(extraJson);
  const modules = await preload(format, impl);
  const t0 = performance.now();
  const rows = await implementations[impl](format, path, extra, modules);
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ rows, ms }) + '\n');
}

function measure(format, impl, path, extra, repeat) {
  let best;
  for (let r = 0; r < repeat; r++) {
    const out = execFileSync(process.execPath, ['--max-old-space-size=8192', here, '--child', format, impl, path, JSON.stringify(extra)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const result = JSON.parse(out.trim().split('\n').pop());
    if (best === undefined || result.ms < best.ms) best = result;
  }
  return best;
}

async function main(args) {
  let rows = 1_000_000;
  let formats = FORMATS;
  let compression;
  let repeat = 1;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--rows') rows = Number(args[++i]);
    else if (a === '--formats') formats = args[++i].split(',');
    else if (a === '--compression') compression = args[++i];
    else if (a === '--repeat') repeat = Number(args[++i]);
    else throw new Error(`bench/formats: unknown argument ${a}`);
  }
  if (!(Number.isSafeInteger(rows) && rows > 0)) throw new Error('bench/formats: --rows must be a positive integer');
  for (const f of formats) if (!FORMATS.includes(f)) throw new Error(`bench/formats: unknown format ${f}`);
  try {
    statSync(new URL('sources/file-source.js', dist));
  } catch {
    throw new Error('bench/formats: run `npm run build` first (dist/sources/file-source.js is missing)');
  }
  const dir = mkdtempSync(join(tmpdir(), 'weir-bench-formats-'));
  try {
    console.log(`writing ${rows} rows per format${compression ? ` (${compression})` : ''} with weir's file sink…`);
    const files = await writeFiles(dir, rows, formats, compression);
    const table = [];
    for (const format of formats) {
      const { path, writeMs } = files[format];
      const mb = statSync(path).size / 1e6;
      const variants = format === 'arrow' ? [['weir', {}], ['weir (batches)', { arrow: 'batches' }]] : [['weir', {}]];
      const lib = measure(format, 'library', path, {}, repeat);
      for (const [label, extra] of variants) {
        const weir = measure(format, 'weir', path, extra, repeat);
        if (weir.rows !== rows || lib.rows !== rows) throw new Error(`${format}: row counts differ: weir ${weir.rows}, library ${lib.rows}, written ${rows}`);
        table.push({
          format: label === 'weir' ? format : `${format} ${label.slice(5)}`,
          'file MB': mb.toFixed(1),
          'write rows/s': label === 'weir' ? Math.round(rows / (writeMs / 1000)) : '',
          'weir rows/s': Math.round(rows / (weir.ms / 1000)),
          'weir MB/s': (mb / (weir.ms / 1000)).toFixed(1),
          'lib rows/s': Math.round(rows / (lib.ms / 1000)),
          'lib MB/s': (mb / (lib.ms / 1000)).toFixed(1),
          'weir/lib': (lib.ms / weir.ms).toFixed(2),
        });
      }
    }
    console.table(table);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
// Run only when executed directly: bench/run.js imports every bench/*.js looking for `cases`.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (args[0] === '--child') await child(args.slice(1));
  else await main(args);
}
