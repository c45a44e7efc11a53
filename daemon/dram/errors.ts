/**
 * Errors of the DRAMsim3 runner: a stable code (docs/dram.md) and a human
 * message.
 */
export type DramErrorCode =
  | 'E_DRAM_TOOLS' // cmake or a C++ compiler is missing
  | 'E_DRAM_SOURCE' // the --dramsim3 folder is not a DRAMsim3 source tree
  | 'E_DRAM_BUILD' // the build failed (the message ends with the build's last lines)
  | 'E_DRAM_CONFIG' // no such configuration, or one without the fields the runner needs
  | 'E_DRAM_RUN' // dramsim3main failed, or did not finish the trace
  | 'E_DRAM_OUTPUT'; // dramsim3.json is missing or not what DRAMsim3 writes

export class DramError extends Error {
  constructor(
    readonly code: DramErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DramError';
  }
}
