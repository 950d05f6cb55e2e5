/**
 * A sandbox that was asked for and cannot work: `SANDBOX=bwrap` where bubblewrap cannot run, `SANDBOX=podman`
 * where the engine or the image is missing, or a run the sandbox refuses to start. `remedy` says what to do.
 */
export class SandboxError extends Error {
  constructor(
    message: string,
    readonly remedy: string = 'install bubblewrap, or set SANDBOX=auto or off',
  ) {
    super(message);
    this.name = 'SandboxError';
  }
}
