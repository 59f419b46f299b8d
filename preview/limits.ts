/**
 * Bounded concurrency with a bounded queue, and reading a request body under a size cap.
 *
 * @module
 */

/** Thrown when a body is over the limit (the server answers 413). */
export class BodyTooLarge extends Error {
  /**
   * Create the error.
   *
   * @param limit The limit in bytes.
   */
  constructor(limit: number) {
    super(`the request body is over the limit of ${limit} bytes`);
    this.name = "BodyTooLarge";
  }
}

/**
 * Read a request body, refusing it as soon as it passes `limit` bytes: a declared
 * Content-Length over the limit is refused before anything is read, and a streamed body is
 * cancelled the moment it crosses the limit.
 *
 * @param req The request.
 * @param limit Maximum bytes.
 * @returns The body.
 */
export async function readCapped(req: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    await req.body?.cancel().catch(() => {});
    throw new BodyTooLarge(limit);
  }
  if (!req.body) return new Uint8Array();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read().catch(() => {
      throw new ClientGone();
    });
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLarge(limit);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** The request's body stopped short: its client went away while sending it. */
export class ClientGone extends Error {
  /** Create the error. */
  constructor() {
    super("the client closed the request");
    this.name = "ClientGone";
  }
}

/** A counting semaphore with a bounded wait queue. */
export class Gate {
  #running = 0;
  #queue: (() => void)[] = [];
  /** Jobs allowed to run at once. */
  readonly concurrency: number;
  /** Jobs allowed to wait. */
  readonly queueLimit: number;

  /**
   * Create a gate.
   *
   * @param concurrency Jobs at once.
   * @param queueLimit Jobs waiting at most.
   */
  constructor(concurrency: number, queueLimit: number) {
    this.concurrency = concurrency;
    this.queueLimit = queueLimit;
  }

  /** Jobs running now. */
  get running(): number {
    return this.#running;
  }

  /** Jobs waiting now. */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Whether a new job would be refused now (every slot busy and the queue full). */
  get full(): boolean {
    return this.#running >= this.concurrency && this.#queue.length >= this.queueLimit;
  }

  /**
   * Run `job` when a slot is free; null (without running it) when the queue is full.
   *
   * @param job The work.
   * @returns The job's result, or null when refused.
   */
  async run<T>(job: () => Promise<T>): Promise<T | null> {
    if (this.full) return null;
    if (this.#running >= this.concurrency) {
      await new Promise<void>((resolve) => this.#queue.push(resolve));
    }
    this.#running++;
    try {
      return await job();
    } finally {
      this.#running--;
      this.#queue.shift()?.();
    }
  }
}

/**
 * The default long side of a preview in pixels: 192 px keeps one network call short, so a client
 * that leaves costs little CPU (docs/cli.md, "serve").
 */
export const PREVIEW_MAX_SIDE = 192;

/** DDNM's steps in the preview for a model whose manifest recommends none (the built-in ones
 * do, per task: docs/builtin_models.md). */
export const PREVIEW_STEPS = 8;
