/** A backend cannot be used at start (Redis unreachable, refused, a different layout): the daemon does not start. */
export class BackendOpenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendOpenError';
  }
}
