// A preview server in its own process for the benches: started with the given deno arguments,
// ready once it prints its address.

/** A running server process and its base URL. */
export interface ServerProcess {
  process: Deno.ChildProcess;
  base: string;
  /** The rest of its standard error. */
  stderr: ReadableStreamDefaultReader<string>;
}

/** Start `deno <args>` and wait until it prints `http://host:port`. */
export async function startServer(args: string[]): Promise<ServerProcess> {
  const process = new Deno.Command(Deno.execPath(), { args, stderr: "piped", stdout: "null" })
    .spawn();
  const stderr = process.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let base = "";
  while (!base) {
    const { value, done } = await stderr.read();
    if (done) throw new Error("the server did not start");
    base = /(http:\/\/[\d.]+:\d+)/.exec(value)?.[1] ?? "";
  }
  return { process, base, stderr };
}
