/**
 * Change events every replica must see at once: an alias moved, a deployment or serving settings
 * changed (topic `routing`), an API key revoked or changed (topic `api-key`).
 *
 * PostgreSQL triggers (migration 1764920000000) send `NOTIFY kiln_events` when such a row change
 * commits, whoever made it; each process holds one connection that LISTENs and hands the events to
 * its subscribers. That works in every configuration, embedded PostgreSQL included, and needs no
 * transport. It is the fast path only: a listener that was disconnected cannot know what it missed,
 * so after every (re)connection subscribers get a `resync` and re-read everything, and the periodic
 * routing poll (KILN_ROUTING_REFRESH_MS) and the verified-key TTL stay as the safety net.
 *
 * Written on `pg` directly rather than a wrapper such as `pg-listen` (last released 2020): LISTEN,
 * one reconnect loop and JSON parsing are all it takes.
 */
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Client } from 'pg';
import { Counter, Gauge } from 'prom-client';
import { KILN_CONFIG, type KilnConfig } from '../config/kiln-config';
import { MetricsService } from '../metrics/metrics.service';

/** The channel the triggers notify on (test/split/events checks the migration uses the same). */
export const CHANGE_EVENTS_CHANNEL = 'kiln_events';

export type ChangeEvent =
  /** Something a routing snapshot holds changed for this model (models.id). */
  | { topic: 'routing'; modelId: string }
  /** This key (api_keys.id) was revoked, deleted, or its role or secret changed. */
  | { topic: 'api-key'; id: string }
  /** The listener (re)connected: events may have been missed, re-read everything. */
  | { topic: 'resync' };

export type ChangeTopic = ChangeEvent['topic'];
type Handler = (event: ChangeEvent) => void;

/** Injection token of the database URL the listener connects to (the one TypeORM uses). */
export const CHANGE_EVENTS_DATABASE_URL = Symbol('CHANGE_EVENTS_DATABASE_URL');

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5_000;

/** Parses a notification payload; null for anything that is not one of ours (logged, never thrown). */
export function parseChangeEvent(payload: string | undefined): ChangeEvent | null {
  if (!payload) return null;
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (v.topic === 'routing' && typeof v.modelId === 'string') return { topic: 'routing', modelId: v.modelId };
  if (v.topic === 'api-key' && typeof v.id === 'string') return { topic: 'api-key', id: v.id };
  return null;
}

@Injectable()
export class ChangeEvents implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('ChangeEvents');
  private readonly handlers = new Set<Handler>();
  private client: Client | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectDelay = RECONNECT_MIN_MS;
  private stopped = false;
  /** True while the LISTEN connection is up. */
  connected = false;
  private readonly receivedTotal: Counter<'topic'>;

  constructor(
    @Inject(KILN_CONFIG) private readonly config: KilnConfig,
    @Inject(CHANGE_EVENTS_DATABASE_URL) private readonly databaseUrl: string,
    metrics: MetricsService,
  ) {
    this.receivedTotal = new Counter({
      name: 'kiln_change_events_total',
      help: 'Change events this process received (topic resync: the listener (re)connected and re-read everything)',
      labelNames: ['topic'],
      registers: [metrics.registry],
    });
    const isConnected = () => this.connected;
    new Gauge({
      name: 'kiln_change_events_listening',
      help: '1 while this process listens for change events (PostgreSQL LISTEN), else 0',
      registers: [metrics.registry],
      collect() {
        this.set(isConnected() ? 1 : 0);
      },
    });
  }

  /** `KILN_EVENTS=off`: no listener; changes reach replicas only through the poll and the key TTL. */
  get enabled(): boolean {
    return this.config.events === 'postgres';
  }

  /** Calls `handler` for every event (and each `resync`); returns the unsubscribe function. */
  subscribe(handler: Handler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async onModuleInit(): Promise<void> {
    if (!this.enabled) return;
    // The first connection is awaited so a replica that is ready has its listener; a failure is not
    // fatal (the poll still works): it is logged and retried in the background.
    await this.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = null;
    this.connected = false;
    if (client) await client.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({
      connectionString: this.databaseUrl,
      application_name: 'kiln-events',
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
    });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = null;
      this.connected = false;
      client.end().catch(() => undefined);
      if (this.stopped) return;
      this.logger.warn({ err }, `change events: listener connection lost; reconnecting in ${this.reconnectDelay} ms`);
      this.scheduleReconnect();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (msg) => {
      if (msg.channel !== CHANGE_EVENTS_CHANNEL) return;
      const event = parseChangeEvent(msg.payload);
      if (!event) {
        this.logger.warn({ payload: msg.payload }, 'change events: ignored a notification that is not a change event');
        return;
      }
      this.dispatch(event);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGE_EVENTS_CHANNEL}`);
    } catch (err) {
      onLost(err as Error);
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.connected = true;
    this.reconnectDelay = RECONNECT_MIN_MS;
    // Whatever changed while no one listened is only seen by re-reading it.
    this.dispatch({ topic: 'resync' });
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.stopped) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(RECONNECT_MAX_MS, delay * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connect();
    }, delay);
    this.reconnectTimer.unref();
  }

  private dispatch(event: ChangeEvent): void {
    this.receivedTotal.inc({ topic: event.topic });
    for (const handler of this.handlers) {
      try {
        handler(event);
      } catch (err) {
        this.logger.error({ err, topic: event.topic }, 'change events: a subscriber failed');
      }
    }
  }
}
