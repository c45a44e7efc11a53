import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { DaemonConfig } from '../config.ts';
import { ProtocolError } from '../../protocol/protocol-error.ts';

/** What a token grants: its own address space, and whether hello may name another. */
interface Grant {
  readonly digest: Buffer;
  readonly space: string;
  readonly anySpace: boolean;
}

/** Access settings the daemon cannot start with; `usage` tells a wrong flag (exit 2) from an unreadable file (exit 1). */
export class AccessConfigError extends Error {
  constructor(
    message: string,
    readonly usage: boolean,
  ) {
    super(message);
    this.name = 'AccessConfigError';
  }
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::ffff:127.0.0.1';
}

/**
 * Who may connect and which address space they get. Tokens come from
 * `--token` (address space "", may name any space) and `--token-file` (lines
 * `TOKEN SPACE [spaces]`; `#` starts a comment). Tokens are compared as
 * SHA-256 digests with timingSafeEqual, against every grant (no early exit),
 * so the time taken says nothing about how much of a token matched.
 */
export class Access {
  private readonly grants: Grant[] = [];

  constructor(config: Pick<DaemonConfig, 'token' | 'tokenFile' | 'host'>) {
    if (config.token) this.grants.push({ digest: digest(config.token), space: '', anySpace: true });
    if (config.tokenFile) {
      let text: string;
      try {
        text = readFileSync(config.tokenFile, 'utf8');
      } catch (e) {
        throw new AccessConfigError(`cannot read --token-file ${config.tokenFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, false);
      }
      const lines = text.split('\n');
      lines.forEach((line, i) => {
        const words = line.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean);
        if (words.length === 0) return;
        if (words.length > 3 || words.length < 2 || (words[2] !== undefined && words[2] !== 'spaces') || words[0].length < 16) {
          throw new AccessConfigError(`${config.tokenFile}:${i + 1}: expected "TOKEN SPACE [spaces]" with a token of at least 16 characters`, false);
        }
        this.grants.push({ digest: digest(words[0]), space: words[1], anySpace: words[2] === 'spaces' });
      });
      if (this.grants.length === (config.token ? 1 : 0)) throw new AccessConfigError(`${config.tokenFile} holds no tokens`, false);
    }
    if (!this.required && !isLoopback(config.host)) {
      throw new AccessConfigError(`listening on ${config.host} (not a loopback address) needs a token: give --token or --token-file`, true);
    }
  }

  get required(): boolean {
    return this.grants.length > 0;
  }

  /** The address space for a hello, or E_AUTH. */
  admit(token: string | undefined, space: string | undefined): string {
    if (!this.required) return space ?? '';
    const d = digest(token ?? '');
    let match: Grant | undefined;
    for (const g of this.grants) if (timingSafeEqual(g.digest, d) && !match) match = g;
    if (!match) throw new ProtocolError('E_AUTH', 'hello must carry a token the daemon accepts');
    if (space === undefined || space === match.space) return match.space;
    if (!match.anySpace) throw new ProtocolError('E_AUTH', `this token does not grant address space "${space}"`);
    return space;
  }
}
