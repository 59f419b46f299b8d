/**
 * Phase timestamps for profiling (`DIFFRESTORE_TRACE=1`): milliseconds since the process's
 * time origin, on stderr.
 *
 * @module
 */

let _on: boolean | undefined;

/**
 * Print `label` with the time since the process started, when tracing is on.
 *
 * @param label What just happened.
 */
export function trace(label: string): void {
  if (_on === undefined) {
    try {
      _on = Deno.env.get("DIFFRESTORE_TRACE") === "1";
    } catch {
      _on = false;
    }
  }
  if (_on) console.error(`trace ${performance.now().toFixed(1).padStart(8)} ms  ${label}`);
}
