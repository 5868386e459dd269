/**
 * The embedded node: a grpc-js server speaking EventStoreDB's client protocol (Streams, ServerFeatures,
 * Gossip, PersistentSubscriptions) over the durable SQLite store. Every other EventStoreDB service
 * (projections, users, operations, monitoring) is left unregistered, so grpc-js answers UNIMPLEMENTED.
 */
import { readFileSync } from 'fs';
import * as grpc from '@grpc/grpc-js';
import { gossipGrpc, gossipPb, serverFeaturesGrpc, serverFeaturesPb, sharedPb, streamsGrpc } from './proto';
import { Store, type WriteFailure } from './store';
import { ActiveCalls, createStreamsService } from './streams-service';
import { PERSISTENT_METHODS, PersistentSubscriptions, persistentDefinition } from './persistent';
import { Security, readUsersFile, seedSystemStreams, type UserSpec } from './security';

export const SERVER_VERSION = '23.10.0';
export const DEFAULT_MAX_APPEND_SIZE = 1_048_576;

export interface EmbeddedNodeOptions {
  /** Directory of the SQLite files; omitted → in memory (nothing survives close). */
  dataDir?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 2113; 0 → an ephemeral port. */
  port?: number;
  /** Serve TLS with this certificate/key (PEM files). `caFile` (default: certFile) goes into the connection string. */
  tls?: { certFile: string; keyFile: string; caFile?: string };
  /**
   * Users besides (or overriding) the defaults `admin` and `ops` (password `changeit`): name → password, or
   * `{ password | passwordHash, groups }`. Only used with TLS: without it the node is insecure (open).
   */
  users?: Record<string, UserSpec>;
  /** A JSON users file, `{"users":[{"name","password"|"passwordHash","groups"}]}`, read at start (wins over `users`). */
  usersFile?: string;
  /** Maximum size of one append (data + metadata + type of all its events). Default 1,048,576 bytes. */
  maxAppendSize?: number;
}

export interface EmbeddedNode {
  /** `esdb://host:port?tls=false` (or `?tls=true&tlsCAFile=...`), ready for `EventStoreDBClient.connectionString`. */
  connectionString: string;
  port: number;
  /** True when users, passwords and ACLs are enforced (TLS on); false: insecure, every call may do everything. */
  secure: boolean;
  /** Readiness: writes and syncs one tiny row (throws the storage error: disk full, I/O error…). */
  probeWrite(): void;
  /** The last failed append, until an append succeeds again. */
  readonly lastWriteFailure: WriteFailure | undefined;
  /** Ends subscriptions, stops the server, flushes pending appends and closes SQLite. */
  close(): Promise<void>;
}

/** Streams service definition whose Read responses may also be pre-encoded frames (Buffers). */
function streamsDefinition(): grpc.ServiceDefinition {
  const def = streamsGrpc.StreamsService as unknown as grpc.ServiceDefinition;
  const read = def.read;
  return {
    ...def,
    read: { ...read, responseSerialize: (v: unknown) => (Buffer.isBuffer(v) ? v : read.responseSerialize(v)) },
  };
}

export async function startEmbeddedNode(options: EmbeddedNodeOptions = {}): Promise<EmbeddedNode> {
  const host = options.host ?? '127.0.0.1';
  const store = new Store(options.dataDir);
  const active = new ActiveCalls();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 17 * 1024 * 1024,
    'grpc.keepalive_permit_without_calls': 1,
  });
  const maxAppendSize = options.maxAppendSize ?? DEFAULT_MAX_APPEND_SIZE;
  let security: Security;
  try {
    security = new Security(options.tls !== undefined, { ...options.users, ...(options.usersFile ? readUsersFile(options.usersFile) : {}) }, store);
  } catch (err) {
    store.close();
    throw err;
  }
  try {
    await seedSystemStreams(store);
  } catch (err) {
    store.close();
    throw err;
  }
  server.addService(streamsDefinition(), createStreamsService({ store, maxAppendSize, security }, active));
  const persistent = new PersistentSubscriptions({ store, security });
  server.addService(persistentDefinition(), persistent.service());

  let advertisedPort = 0;
  server.addService(serverFeaturesGrpc.ServerFeaturesService as unknown as grpc.ServiceDefinition, {
    getSupportedMethods: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<serverFeaturesPb.SupportedMethods>) => {
      const methods = new serverFeaturesPb.SupportedMethods();
      const add = (service: string, method: string, features: string[] = []) => {
        const m = new serverFeaturesPb.SupportedMethod();
        m.setServiceName(service);
        m.setMethodName(method);
        m.setFeaturesList(features);
        methods.addMethods(m);
      };
      const streams = 'event_store.client.streams.streams';
      add(streams, 'read', ['all', 'stream', 'position', 'events']);
      add(streams, 'append');
      add(streams, 'batchappend');
      add(streams, 'delete');
      add(streams, 'tombstone');
      for (const [method, features] of PERSISTENT_METHODS) add('event_store.client.persistent_subscriptions.persistentsubscriptions', method, features);
      add('event_store.client.server_features.serverfeatures', 'getsupportedmethods');
      add('event_store.client.gossip.gossip', 'read');
      methods.setEventStoreServerVersion(SERVER_VERSION);
      cb(null, methods);
    },
  });
  const instanceId = new sharedPb.UUID();
  instanceId.setString(globalThis.crypto.randomUUID());
  server.addService(gossipGrpc.GossipService as unknown as grpc.ServiceDefinition, {
    read: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<gossipPb.ClusterInfo>) => {
      // A single-node "cluster": this node, alive, leader — so discovery (esdb+discover:// or several hosts) finds it.
      const endpoint = new gossipPb.EndPoint();
      endpoint.setAddress(host);
      endpoint.setPort(advertisedPort);
      const member = new gossipPb.MemberInfo();
      member.setInstanceId(instanceId);
      member.setTimeStamp(String(Date.now() * 10000));
      member.setState(gossipPb.MemberInfo.VNodeState.LEADER);
      member.setIsAlive(true);
      member.setHttpEndPoint(endpoint);
      const info = new gossipPb.ClusterInfo();
      info.addMembers(member);
      cb(null, info);
    },
  });

  const credentials = options.tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(options.tls.certFile), private_key: readFileSync(options.tls.keyFile) }], false)
    : grpc.ServerCredentials.createInsecure();
  try {
    advertisedPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${options.port ?? 2113}`, credentials, (err, port) => (err ? reject(err) : resolve(port))),
    );
  } catch (err) {
    store.close();
    throw err;
  }

  const query = options.tls ? `tls=true&tlsCAFile=${encodeURIComponent(options.tls.caFile ?? options.tls.certFile)}` : 'tls=false';
  let closing: Promise<void> | undefined;
  return {
    connectionString: `esdb://${host.includes(':') ? `[${host}]` : host}:${advertisedPort}?${query}`,
    port: advertisedPort,
    secure: security.enabled,
    probeWrite: () => store.probeWrite(),
    get lastWriteFailure() {
      return store.lastWriteFailure;
    },
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          store.close();
          resolve();
        };
        active.endAll();
        persistent.close();
        const timer = setTimeout(() => {
          server.forceShutdown();
          finish();
        }, 2000);
        server.tryShutdown(finish);
      });
      return closing;
    },
  };
}
