import type { KeyedProcessContext } from '../../src/processors/keyed-process.js';
import type { Source } from '../../src/runtime/source.js';
import { replayableSource } from './sources.js';

/** An event of {@link userEvents}. */
export interface UserEvent {
  user: string;
  i: number;
}

/** `count` events over `users` keys, each key in turn (`(i × 7919) mod users`), `chunk` per read, replayable. */
export function userEvents(count: number, users: number, chunk = 50): Source<UserEvent> {
  return replayableSource('events', count, (i) => ({ user: `u${(i * 7919) % users}`, i }), { chunk });
}

/**
 * A process function using three kinds of state per key (a value, a list, a map): it emits, per
 * event, its key's running count, the key's last three indexes and the parities seen, so any lost,
 * repeated or misplaced state change shows in the output.
 */
export function countThreeStates(e: UserEvent, ctx: KeyedProcessContext<string, string>): void {
  const n = ctx.state.value<number>('n');
  const next = (n.get() ?? 0) + 1;
  n.set(next);
  const last = ctx.state.list<number>('last');
  last.add(e.i);
  if (last.get().length > 3) last.update(last.get().slice(-3));
  const parity = ctx.state.map<string, number>('parity');
  const p = e.i % 2 === 0 ? 'even' : 'odd';
  parity.set(p, (parity.get(p) ?? 0) + 1);
  ctx.emit(`${e.user}:${next}:${last.get().join(',')}:${parity.get('even') ?? 0}/${parity.get('odd') ?? 0}`);
}
