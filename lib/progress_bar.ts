/**
 * A small progress bar on stderr: step i/N, elapsed, ETA, steps per second, and a label.
 *
 * @module
 */

/** Options of {@linkcode ProgressBar}. */
export interface ProgressBarOptions {
  /** Text after the numbers (backend, runtime). */
  label?: string;
  /** Draw even when stderr is not a terminal. */
  force?: boolean;
  /** Width of the bar in characters. */
  width?: number;
}

function _fmt(s: number): string {
  if (!Number.isFinite(s)) return "--:--";
  const m = Math.floor(s / 60), sec = Math.floor(s % 60);
  return `${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}`;
}

/**
 * A progress bar that redraws one stderr line; silent when stderr is not a terminal.
 *
 * @example
 * ```ts ignore
 * import { ProgressBar } from "./progress_bar.ts";
 * const bar = new ProgressBar({ label: "cpu, native" });
 * for (let i = 1; i <= 10; i++) bar.update(i, 10);
 * bar.done();
 * ```
 */
export class ProgressBar {
  #start = performance.now();
  #enabled: boolean;
  /** Text after the numbers (backend, runtime); may change while running. */
  label: string;
  #width: number;
  #last = 0;
  #encoder = new TextEncoder();

  /**
   * Create a bar.
   *
   * @param options Label, forcing, width.
   */
  constructor(options: ProgressBarOptions = {}) {
    this.#enabled = options.force || Deno.stderr.isTerminal();
    this.label = options.label ?? "";
    this.#width = options.width ?? 24;
  }

  /**
   * The line for step `i` of `n`, as drawn.
   *
   * @param i Steps done.
   * @param n Steps in all.
   * @param prefix Text before the bar.
   * @returns The line.
   */
  line(i: number, n: number, prefix = ""): string {
    const elapsed = (performance.now() - this.#start) / 1000;
    const rate = i / Math.max(elapsed, 1e-9);
    const eta = (n - i) / rate;
    const filled = Math.round((i / n) * this.#width);
    const bar = "#".repeat(filled) + "-".repeat(this.#width - filled);
    return `${prefix}[${bar}] ${i}/${n} ${_fmt(elapsed)} eta ${_fmt(eta)} ${
      rate.toFixed(2)
    } it/s ${this.label}`;
  }

  /**
   * Redraw (at most every 50 ms, and always at the end).
   *
   * @param i Steps done.
   * @param n Steps in all.
   * @param prefix Text before the bar.
   */
  update(i: number, n: number, prefix = ""): void {
    if (!this.#enabled) return;
    const now = performance.now();
    if (i < n && now - this.#last < 50) return;
    this.#last = now;
    Deno.stderr.writeSync(this.#encoder.encode(`\r\x1b[2K${this.line(i, n, prefix)}`));
  }

  /** Finish the line. */
  done(): void {
    if (this.#enabled) Deno.stderr.writeSync(this.#encoder.encode("\n"));
  }
}
