import { ZgError } from "./errors";

/** Polls `done` once a second until it holds; a one-line error after `timeoutMs`. */
export async function waitFor(done: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new ZgError(`not reached within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
