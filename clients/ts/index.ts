export { ShimpackClient, type ConnectOptions } from './client.ts';
export { ChannelClient, mergeStats } from './channels.ts';
export { ShimpackError, type ClientErrorCode } from './errors.ts';
export * from '../../protocol/types.ts';
