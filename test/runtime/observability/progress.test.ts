import { describe, expect, it } from 'vitest';
import { ProgressLine, formatProgress, type ProgressReading } from '../../../src/runtime/observability/progress.js';

describe('progress line', () => {
  it('shows records, rate, percent and ETA when the total is known', () => {
    const line = formatProgress('clicks', { records: 123_456, done: 123_456, total: 300_000, unit: 'records' }, 45_600, 45_600);
    expect(line).toBe('clicks  [########------------] 41.2%  123,456 records  45.6k/s  ETA 0:04');
  });

  it('without a known total: records and rate only', () => {
    expect(formatProgress('tail', { records: 999 }, 12.4, 0)).toBe('tail  999 records  12/s');
  });

  it('long ETAs read as h:mm:ss', () => {
    expect(formatProgress('big', { records: 1, done: 1, total: 3_600_001, unit: 'bytes' }, 1, 1000)).toContain('ETA 1:00:00');
  });

  it('redraws in place from the counters and clears itself', () => {
    const written: string[] = [];
    let now = 0;
    let reading: ProgressReading = { records: 0, done: 0, total: 1000, unit: 'records' };
    const line = new ProgressLine({ job: 'j', stream: { write: (t) => written.push(t), columns: 200 }, read: () => reading, now: () => now, intervalMs: 60_000 });
    line.start();
    now = 1000;
    reading = { records: 250, done: 250, total: 1000, unit: 'records' };
    line.update();
    expect(written.at(-1)).toBe('\rj  [#####---------------] 25.0%  250 records  250/s  ETA 0:03\x1b[K');
    now = 2000;
    reading = { records: 500, done: 500, total: 1000, unit: 'records' };
    line.update();
    expect(written.at(-1)).toContain('50.0%');
    line.clear();
    expect(written.at(-1)).toBe('\r\x1b[K');
    const count = written.length;
    line.clear();
    expect(written).toHaveLength(count);
    line.stop();
    line.stop();
  });

  it('cuts the line to the terminal width', () => {
    const written: string[] = [];
    const line = new ProgressLine({ job: 'a-job-with-a-long-name', stream: { write: (t) => written.push(t), columns: 10 }, read: () => ({ records: 5 }) });
    line.update();
    expect(written[0]).toBe('\ra-job-wit\x1b[K');
  });
});
