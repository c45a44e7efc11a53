export { ShimpackClient, type ConnectOptions } from './client.ts';
export { ShimpackError, type ClientErrorCode } from './errors.ts';
export * from '../../protocol/types.ts';
