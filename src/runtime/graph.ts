import type { ErrorPolicy } from './error-policy.js';
import { ConfigError } from './errors.js';
import type { OperatorSpec } from './operator.js';
import type { Sink } from './sink.js';
import type { Source } from './source.js';
import type { SourceTimeOptions } from './source-stage.js';

/** Index of a node in its graph. */
export type NodeId = number;

/** An output of a node: its main output, or the side output `tag`. */
export interface Port {
  readonly node: NodeId;
  readonly tag?: string;
}

export interface SourceNode {
  readonly type: 'source';
  readonly id: NodeId;
  readonly name: string;
  readonly source: Source<unknown>;
  readonly time: SourceTimeOptions<unknown>;
}

export interface OperatorNode {
  readonly type: 'operator';
  readonly id: NodeId;
  readonly name: string;
  readonly spec: OperatorSpec;
  readonly input: Port;
  readonly onError: ErrorPolicy;
  /**
   * Set on the identity step a repartitioning `keyBy` inserts: in a scaled-out job the runtime
   * replaces it by a write to, and a read from, a repartition channel partitioned by `key`; in
   * one process it passes records through.
   */
  readonly exchange?: { readonly key: (record: unknown) => unknown };
}

export interface UnionNode {
  readonly type: 'union';
  readonly id: NodeId;
  readonly name: string;
  readonly inputs: readonly Port[];
}

export interface SinkNode {
  readonly type: 'sink';
  readonly id: NodeId;
  readonly name: string;
  readonly sink: Sink<unknown>;
  readonly input: Port;
}

export type GraphNode = SourceNode | OperatorNode | UnionNode | SinkNode;

/** Distributive Omit, so each node kind keeps its own fields. */
export type NewNode = GraphNode extends infer N ? (N extends GraphNode ? Omit<N, 'id'> : never) : never;

/**
 * The logical dataflow graph of a job (a DAG). The builder appends nodes; the job runner turns it
 * into stream stages. Step names are unique: state and checkpoints are keyed by them.
 */
export class JobGraph {
  readonly #nodes: GraphNode[] = [];
  readonly #names = new Map<string, number>();

  constructor(readonly job: string) {}

  get nodes(): readonly GraphNode[] {
    return this.#nodes;
  }

  /** A step name not used yet: `base`, else `base-2`, `base-3`… */
  uniqueName(base: string): string {
    if (!this.#names.has(base)) return base;
    for (let i = 2; ; i++) {
      const candidate = `${base}-${i}`;
      if (!this.#names.has(candidate)) return candidate;
    }
  }

  /** Add a node. An explicit name that is already taken is a configuration error. */
  add(node: NewNode): NodeId {
    if (this.#names.has(node.name)) {
      throw new ConfigError(`job "${this.job}": step name "${node.name}" is used twice; names must be unique in a job`);
    }
    const id = this.#nodes.length;
    this.#nodes.push({ ...node, id } as GraphNode);
    this.#names.set(node.name, id);
    return id;
  }

  node(id: NodeId): GraphNode {
    return this.#nodes[id];
  }

  /** Check the graph can run: at least one source and one sink. Throws ConfigError. */
  validate(): void {
    if (!this.#nodes.some((n) => n.type === 'source')) throw new ConfigError(`job "${this.job}": no source; start with .source(...)`);
    if (!this.#nodes.some((n) => n.type === 'sink')) throw new ConfigError(`job "${this.job}": no sink; add one with .sink(...) before .run()`);
  }
}

/** Key of a port, for maps. */
export function portKey(port: Port): string {
  return port.tag === undefined ? String(port.node) : `${port.node}:${port.tag}`;
}
