/**
 * weir: a dataflow engine for Node.js. This is the one public entry; everything else is internal.
 *
 * @example
 * ```ts
 * import { pipeline, sources, sinks, windows, agg, watermarks } from 'weir';
 * const out: unknown[] = [];
 * await pipeline('clicks')
 *   .source(sources.generator({ count: 10_000 }), { timestamp: 't', watermark: watermarks.boundedOutOfOrderness(2000) })
 *   .keyBy('user')
 *   .window(windows.tumbling(60_000))
 *   .aggregate({ n: agg.count(), total: agg.sum('price') })
 *   .sink(sinks.collect(out))
 *   .run();
 * ```
 */
import { arraySource } from './sources/array-source.js';
import { generatorSource } from './sources/generator-source.js';
import { collectSink } from './sinks/collect-sink.js';
import { consoleSink } from './sinks/console-sink.js';
import { fileSink } from './sinks/file-sink.js';
import { httpSource } from './sources/http-source.js';
import { fileSource } from './sources/file-source.js';
import { redisStreamSource } from './sources/redis-stream-source.js';
import { postgresSource } from './sources/postgres-source.js';
import { redisSink } from './sinks/redis-sink.js';
import { postgresSink } from './sinks/postgres-sink.js';
import { kafkaSource } from './sources/kafka-source.js';
import { kafkaSink } from './sinks/kafka-sink.js';
import { httpSink } from './sinks/http-sink.js';
import { deadLetterSink } from './sinks/dead-letter-sink.js';
import { boundedOutOfOrderness, monotonous } from './runtime/watermark-strategy.js';

export { pipeline, Pipeline, type SourceOptions } from './builder/pipeline.js';
export { Stream, type StepOptions, type SinkOptions } from './builder/stream.js';
export { KeyedStream, type KeySelector, type KeyByOptions } from './builder/keyed-stream.js';
export { deadLetter, type DeadLetter, type DeadLetterPolicy, type ErrorPolicy } from './runtime/error-policy.js';
export {
  WeirError,
  ConfigError,
  UserFunctionError,
  RecordError,
  ConnectorError,
  CheckpointError,
  AbortedError,
  InternalError,
  type ErrorDomain,
} from './runtime/errors.js';
export type { Batch, StreamElement, Watermark, Barrier, EndOfInput } from './runtime/elements.js';
export type { Operator, OperatorSpec, OperatorContext, Output } from './runtime/operator.js';
export type { Source, SourceReader, SourceContext, SourceChunk, SourceProgress } from './runtime/source.js';
export type { Sink, SinkWriter, SinkContext, TransactionalWriter } from './runtime/sink.js';
export type { WatermarkStrategy, WatermarkOptions } from './runtime/watermark-strategy.js';
export type { JobHandle } from './runtime/job.js';
export type { JobResult, StepStats } from './runtime/job-runner.js';
export type { RunOptions, StateBackendName } from './runtime/run-options.js';
export type { LogLevel, LogEntry, LogSink } from './runtime/observability/logger.js';
export type { MetricsAddress } from './runtime/observability/metrics-server.js';
export { extractContext, injectContext, type MessageHeaders, type WritableHeaders } from './runtime/observability/trace-context.js';
export {
  traceCall,
  traceSend,
  continueFromHeaders,
  injectIntoHeaders,
  recordLinks,
  type TraceCallOptions,
  type TraceSendOptions,
} from './runtime/observability/tracing.js';
export { ManualClock, systemClock, type Clock } from './runtime/clock.js';
export type { TransformSpec, TransformStep, Condition } from './processors/transform-spec.js';
export { agg } from './aggregations/agg.js';
export { windows, triggers } from './windows/index.js';
export type { KeyedProcessOptions } from './builder/keyed-process.js';
export type { KeyedProcessFn, KeyedProcessFunction, KeyedProcessContext, TimeDomain, TimerService } from './processors/keyed-process.js';
export type { ValueState } from './processors/value-state.js';
export type { ListState } from './processors/list-state.js';
export type { MapState } from './processors/map-state.js';
export type { StateOptions, KeyedStateAccess } from './processors/keyed-state-store.js';
export type { IntervalBounds } from './processors/interval-join.js';
export type { JoinWindowSpec, JoinWindow } from './processors/join-window.js';
export type { WindowAssigner, Trigger, TriggerAction, TriggerContext, TimeWindow, ProcessWindowFunction } from './windows/index.js';
export type { WindowedStream, WindowOptions, WindowStepOptions, WindowRow, NamedWindowRow } from './builder/windowed-stream.js';
export type { Aggregation, AggregationInput, AggregationResult } from './aggregations/aggregation.js';
export type { GeneratorSourceOptions } from './sources/generator-source.js';
export type { Rng } from './sources/rng.js';
export type { ClickEvent } from './sources/click-event.js';
export type { FileSinkOptions, FileSinkFormat } from './sinks/file-sink.js';
export type { FileSourceOptions, FileSourcePosition, FileSourceChunk, FileCursor, FileFormat, CsvColumnType } from './sources/file-source.js';
export type { ConsoleSinkOptions } from './sinks/console-sink.js';
export type { HttpSourceOptions, HttpSourcePosition, HttpCursor } from './sources/http-source.js';
export type { HttpPagination, HttpPageResponse } from './sources/http-pagination.js';
export type { HttpSinkOptions, HttpSinkTxn, HttpSinkStats } from './sinks/http-sink.js';
export type { HttpAuth } from './connectors/http/http-options.js';
export type { RetryOptions } from './connectors/http/retry-policy.js';
export type { CircuitBreakerOptions } from './connectors/http/circuit-breaker.js';
export type { DeadLetterSinkOptions } from './sinks/dead-letter-sink.js';
export type { RedisStreamSourceOptions, RedisStreamEntry, RedisStreamPosition } from './sources/redis-stream-source.js';
export type { RedisSinkOptions, RedisStreamSinkOptions, RedisKeySinkOptions, RedisHashSinkOptions } from './sinks/redis-sink.js';
export type { PostgresSinkOptions, PostgresSinkTxn } from './sinks/postgres-sink.js';
export type { PostgresSourceOptions, PostgresSourcePosition } from './sources/postgres-source.js';
export type { ReconnectOptions, ConnectionEvent } from './connectors/connection-retry.js';
export type { KafkaRecord, KafkaSourceOptions, KafkaSourcePosition, KafkaSource } from './sources/kafka-source.js';
export type { KafkaSinkOptions, KafkaSinkTxn } from './sinks/kafka-sink.js';
export { avroDeserializer, jsonDeserializer, stringDeserializer, rawDeserializer, type KafkaDeserializer } from './sources/kafka-deserializers.js';
export { avroSerializer, jsonSerializer, stringSerializer, rawSerializer, type KafkaSerializer } from './sinks/kafka-serializers.js';

/**
 * Built-in sources: `sources.array(records)`, `sources.generator({ seed, count, ratePerSec, make })`,
 * `sources.file({ path, format, watch })` (JSON lines, CSV, Parquet, Avro, Arrow; gzip, zstd),
 * `sources.http({ url, intervalMs, cursor, pagination })` (polling, at-least-once),
 * `sources.redisStream({ connection, streams, group })`, `sources.postgres({ connection, query, keyColumn })`,
 * `sources.kafka({ brokers, topic, groupId, bounded })`.
 */
export const sources = Object.freeze({
  array: arraySource,
  generator: generatorSource,
  file: fileSource,
  http: httpSource,
  redisStream: redisStreamSource,
  postgres: postgresSource,
  kafka: kafkaSource,
});

/**
 * Built-in sinks: `sinks.collect(array)`, `sinks.console()`, `sinks.file({ dir, format, compression })`
 * (exactly-once part files in any of the file source's formats),
 * `sinks.http({ url, retry, ratePerSec, circuitBreaker })`, `sinks.deadLetters({ dir })`,
 * `sinks.redis({ connection, stream | key })`, `sinks.postgres({ connection, table, columns, upsert })` (exactly-once),
 * `sinks.kafka({ brokers, topic, key, semantic })`.
 */
export const sinks = Object.freeze({
  collect: collectSink,
  console: consoleSink,
  file: fileSink,
  http: httpSink,
  deadLetters: deadLetterSink,
  redis: redisSink,
  postgres: postgresSink,
  kafka: kafkaSink,
});

/** Watermark strategies for `.source(src, { watermark })`. */
export const watermarks = Object.freeze({
  boundedOutOfOrderness,
  monotonous,
});
