import cliProgress from 'cli-progress';

/**
 * Progress for long commands: a bar on a terminal, and on anything else
 * (CI logs, pipes) a plain line at every tenth of the work, all on stderr so
 * stdout stays clean for results.
 */
export interface Progress {
  update(done: number, label?: string): void;
  stop(): void;
}

export function createProgress(total: number, title: string, enabled = true): Progress {
  if (!enabled) return { update() {}, stop() {} };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${title} [{bar}] {value}/{total} {label}`, stream: process.stderr, hideCursor: true, clearOnComplete: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { label: '' });
    return {
      update: (done, label = '') => bar.update(done, { label }),
      stop: () => bar.stop(),
    };
  }
  let lastTenth = -1;
  return {
    update(done, label = '') {
      const tenth = total === 0 ? 10 : Math.floor((done * 10) / total);
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        process.stderr.write(`${title}: ${done}/${total}${label ? ` (${label})` : ''}\n`);
      }
    },
    stop() {},
  };
}
