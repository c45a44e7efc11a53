import { Gauge, type Registry } from 'prom-client';

/**
 * `shimpack_channel_info` (always 1): the memory channel this daemon serves
 * and its backend. Dashboards join it on `instance` to group any series by
 * channel (docs/scaling.md).
 */
export function registerChannelInfo(registry: Registry, channel: number, channels: number, backend: string): void {
  new Gauge({
    name: 'shimpack_channel_info',
    help: 'Always 1: the memory channel this daemon serves (channel of channels, --channel I/N) and its backend',
    labelNames: ['channel', 'channels', 'backend'] as const,
    registers: [registry],
  }).set({ channel: String(channel), channels: String(channels), backend }, 1);
}
