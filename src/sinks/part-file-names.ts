/**
 * Names of the files a {@link fileSink} step writes in its directory. Hidden names (leading '.')
 * are work in progress that readers listing the directory skip; only final names are visible.
 *
 * - in progress: `.<prefix>-<step>-<seq>.<ext>.inprogress` (one attempt's open or rolled parts);
 * - pending: `.<final>.pending` (sealed by a pre-commit, waiting for the checkpoint to complete);
 * - final: `<prefix>-<step>-<checkpointId, 10 digits>-<n, 5 digits>.<ext>`, with `-end` before the
 *   extension for what is committed at end of input. A function of the checkpoint id and the
 *   part's rank in it only, so a replay after a crash produces the same names.
 *
 * `<ext>` is the format's extension, plus the compression's (`jsonl`, `csv.gz`, `parquet.zst`…).
 * The step name is percent-encoded where it is not filename-safe.
 */
export interface PartFileNames {
  /** Name of the in-progress part number `seq` of this attempt. */
  inProgress(seq: number): string;
  /** Final name of part `n` of checkpoint `checkpointId` (`end`: committed at end of input). */
  final(checkpointId: number, n: number, end: boolean): string;
  /** Hidden name a final file waits under between pre-commit and commit. */
  pending(finalName: string): string;
  /** True when `name` is an in-progress part of this step (of any attempt). */
  isInProgress(name: string): boolean;
  /** For a pending file of this step: its checkpoint id and whether it is an end part; else `undefined`. */
  parsePending(name: string): { checkpointId: number; end: boolean } | undefined;
}

const ID_DIGITS = 10;
const RANK_DIGITS = 5;

/**
 * The names of step `step`'s files with prefix `prefix` and extension `extension` (default
 * `'jsonl'`, without the leading dot).
 *
 * @example
 * ```ts
 * const names = partFileNames('part', 'clicks-out');
 * names.final(3, 0, false);  // 'part-clicks-out-0000000003-00000.jsonl'
 * names.pending(names.final(3, 0, false)); // '.part-clicks-out-0000000003-00000.jsonl.pending'
 * names.inProgress(7);      // '.part-clicks-out-7.jsonl.inprogress'
 * partFileNames('part', 'out', 'csv.gz').final(3, 1, true); // 'part-out-0000000003-00001-end.csv.gz'
 * ```
 */
export function partFileNames(prefix: string, step: string, extension = 'jsonl'): PartFileNames {
  const base = `${prefix}-${encodeStep(step)}`;
  const quoted = escapeRegExp(base);
  const ext = escapeRegExp(extension);
  // Anchored and digit-only between dashes, so step "out" never matches files of step "out-2".
  const inProgress = new RegExp(`^\\.${quoted}-\\d+\\.${ext}\\.inprogress$`);
  const pending = new RegExp(`^\\.${quoted}-(\\d+)-\\d+(-end)?\\.${ext}\\.pending$`);
  return {
    inProgress: (seq) => `.${base}-${seq}.${extension}.inprogress`,
    final: (checkpointId, n, end) =>
      `${base}-${String(checkpointId).padStart(ID_DIGITS, '0')}-${String(n).padStart(RANK_DIGITS, '0')}${end ? '-end' : ''}.${extension}`,
    pending: (finalName) => `.${finalName}.pending`,
    isInProgress: (name) => inProgress.test(name),
    parsePending(name) {
      const match = pending.exec(name);
      return match === null ? undefined : { checkpointId: Number(match[1]), end: match[2] !== undefined };
    },
  };
}

/** Percent-encode what is not safe in a file name on every platform ('/', '\\', ':', '*'…). */
function encodeStep(step: string): string {
  return encodeURIComponent(step).replace(/[!'()*~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
