/**
 * gRPC statuses shaped the way EventStoreDB sends them: a status code plus an `exception` trailer (and the
 * trailers the client reads for each exception), which `@eventstore/db-client` maps to its error classes.
 */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';

export type GrpcError = Partial<ServiceError> & { code: status; details: string; metadata: Metadata };

export function grpcError(code: status, details: string, trailers: Record<string, string> = {}): GrpcError {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(trailers)) metadata.set(k, v);
  return { name: 'Error', message: details, code, details, metadata };
}

export function expectedVersionNumber(expected: { kind: string; revision?: bigint }): string {
  switch (expected.kind) {
    case 'any':
      return '-2';
    case 'no_stream':
      return '-1';
    case 'stream_exists':
      return '-4';
    default:
      return String(expected.revision);
  }
}

export const errors = {
  wrongExpectedVersion: (stream: string, expected: { kind: string; revision?: bigint }, actual: number | undefined) =>
    grpcError(status.FAILED_PRECONDITION, `Append failed due to WrongExpectedVersion. Stream: ${stream}`, {
      exception: 'wrong-expected-version',
      'stream-name': stream,
      'expected-version': expectedVersionNumber(expected),
      ...(actual === undefined ? {} : { 'actual-version': String(actual) }),
    }),
  streamDeleted: (stream: string) =>
    grpcError(status.FAILED_PRECONDITION, `Event stream '${stream}' is deleted.`, { exception: 'stream-deleted', 'stream-name': stream }),
  maxAppendSize: (max: number) =>
    grpcError(status.INVALID_ARGUMENT, `Maximum Append Size of ${max} Exceeded.`, {
      exception: 'maximum-append-size-exceeded',
      'maximum-append-size': String(max),
    }),
  missingMetadata: () =>
    grpcError(status.INVALID_ARGUMENT, 'Required Metadata Properties Missing: type, content-type', {
      exception: 'missing-required-metadata-property',
      'required-metadata-properties': 'type,content-type',
    }),
  accessDenied: () => grpcError(status.PERMISSION_DENIED, 'Access Denied', { exception: 'access-denied' }),
  unauthenticated: () => grpcError(status.UNAUTHENTICATED, 'Bad username or password'),
  invalidArgument: (details: string) => grpcError(status.INVALID_ARGUMENT, details),
  unavailable: (details: string) => grpcError(status.UNAVAILABLE, details),
  internal: (details: string) => grpcError(status.INTERNAL, details),
};
