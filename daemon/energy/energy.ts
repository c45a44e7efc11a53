import type { MemoryModel } from './memory.ts';

/**
 * First-order DRAM energy and transfer time: every burst moves `burstBytes`
 * over the interface at the memory's energy per bit and peak bandwidth.
 * Background, refresh and activation energy and bank conflicts are not
 * modelled (a DRAM simulator fed the same bursts gives those); the model
 * answers "how much of the traffic-proportional energy and time does
 * compression save".
 */

/** Joules to move `bursts` bursts of `burstBytes` bytes. */
export function dramJoules(bursts: number, burstBytes: number, memory: MemoryModel): number {
  return bursts * burstBytes * 8 * memory.pjPerBit * 1e-12;
}

/** Seconds to move `bursts` bursts of `burstBytes` bytes at the memory's peak bandwidth. */
export function dramSeconds(bursts: number, burstBytes: number, memory: MemoryModel): number {
  return (bursts * burstBytes) / (memory.gbps * 1e9);
}

export interface Energy {
  readonly joules: number;
  readonly seconds: number;
}

/** Energy and transfer time of `bursts` DRAM bursts (64 B unless told). */
export function energyOf(bursts: number, memory: MemoryModel, burstBytes = 64): Energy {
  return { joules: dramJoules(bursts, burstBytes, memory), seconds: dramSeconds(bursts, burstBytes, memory) };
}

/** Raw against compressed traffic, in the units of stats (protocol/README.md §4.5). */
export interface TrafficEnergy {
  readonly dramEnergyRawJ: number;
  readonly dramEnergyStoredJ: number;
  /** Raw minus stored: negative when compression costs traffic (random access to compressed blocks). */
  readonly dramEnergySavedJ: number;
  readonly dramTimeRawS: number;
  readonly dramTimeStoredS: number;
  readonly dramTimeSavedS: number;
}

export function trafficEnergy(burstsRaw: number, burstsStored: number, burstBytes: number, memory: MemoryModel): TrafficEnergy {
  const rawJ = dramJoules(burstsRaw, burstBytes, memory);
  const storedJ = dramJoules(burstsStored, burstBytes, memory);
  const rawS = dramSeconds(burstsRaw, burstBytes, memory);
  const storedS = dramSeconds(burstsStored, burstBytes, memory);
  return { dramEnergyRawJ: rawJ, dramEnergyStoredJ: storedJ, dramEnergySavedJ: rawJ - storedJ, dramTimeRawS: rawS, dramTimeStoredS: storedS, dramTimeSavedS: rawS - storedS };
}
