/** The first-order energy and time model: pure functions, no I/O (docs/energy.md). */
export { MEMORY_NAMES, MEMORY_PRESETS, MAX_GBPS, MAX_PJ_PER_BIT, isMemoryName, memoryModel, type MemoryModel, type MemoryName, type MemoryPreset } from './memory.ts';
export { dramJoules, dramSeconds, energyOf, trafficEnergy, type Energy, type TrafficEnergy } from './energy.ts';
export { CODEC_RATES, DEFAULT_CODEC_CLOCK_MHZ, codecSeconds, type CodecRate } from './codec-cost.ts';
