/**
 * Errors of `shimpack report`; `code` is stable (docs/report.md), `message`
 * is for humans.
 */
export type ReportErrorCode =
  | 'E_REPORT_INPUT' // an option or input the report cannot use (unknown memory type, empty trace)
  | 'E_REPORT_DAEMON' // the embedded daemon did not start
  | 'E_REPORT_REPLAY' // the trace did not replay cleanly (a read did not verify, a request failed)
  | 'E_REPORT_ASSET' // the plotting library is missing from node_modules
  | 'E_REPORT_DRAMSIM'; // the DRAMsim3 comparison failed

export class ReportError extends Error {
  readonly code: ReportErrorCode;
  constructor(code: ReportErrorCode, message: string) {
    super(message);
    this.name = 'ReportError';
    this.code = code;
  }
}
