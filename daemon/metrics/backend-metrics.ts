import { Counter, Gauge, type Registry } from 'prom-client';
import type { BackendFailureKind, BackendOp, GuardObserver } from '../backend/guarded.ts';

/**
 * The guarded backend's series (backend/guarded.ts): failures by operation
 * and kind, timed-out calls the backend finished later, and those it has not
 * finished yet. An observer for GuardedBackend.
 */
export class BackendMetrics implements GuardObserver {
  private readonly failures: Counter<'op' | 'kind'>;
  private readonly lateSettled: Counter<'op' | 'outcome'>;

  constructor(registry: Registry, lateOperations: () => number) {
    const registers = [registry];
    this.failures = new Counter({
      name: 'shimpack_backend_failures_total',
      help: 'Backend calls answered as failed, by operation and kind (error: threw or rejected; timeout: no answer within --backend-timeout-ms; blocked: not issued, the region has a late call of that kind)',
      labelNames: ['op', 'kind'] as const,
      registers,
    });
    this.lateSettled = new Counter({
      name: 'shimpack_backend_late_settled_total',
      help: 'Backend calls answered as timed out that the backend finished later: completed (a write then did take effect) or failed',
      labelNames: ['op', 'outcome'] as const,
      registers,
    });
    new Gauge({
      name: 'shimpack_backend_late_operations',
      help: 'Backend calls answered as timed out that the backend has not finished yet (calls of the same kind, read or write, of their regions fail at once until then)',
      registers,
      collect() {
        this.set(lateOperations());
      },
    });
  }

  onFailure(op: BackendOp, kind: BackendFailureKind): void {
    this.failures.inc({ op, kind });
  }

  onLateSettle(op: BackendOp, completed: boolean): void {
    this.lateSettled.inc({ op, outcome: completed ? 'completed' : 'failed' });
  }
}
