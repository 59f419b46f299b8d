/**
 * The preview page: pick or drop an image, choose a task, see before and after.
 *
 * @module
 */

/** The page's HTML (self-contained: no external scripts, fonts or styles). */
export const PREVIEW_PAGE: string = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>diffrestore preview</title>
<style>
  [hidden] { display: none !important; }
  body { font: 15px/1.4 system-ui, sans-serif; margin: 0; background: #111; color: #eee; }
  main { max-width: 760px; margin: 0 auto; padding: 24px; }
  h1 { font-size: 20px; margin: 0 0 12px; }
  #drop { border: 2px dashed #666; border-radius: 10px; padding: 28px; text-align: center; cursor: pointer; }
  #drop.over { border-color: #6cf; background: #1a2630; }
  .controls { display: flex; gap: 12px; flex-wrap: wrap; align-items: end; margin: 16px 0; }
  label { display: flex; flex-direction: column; font-size: 13px; color: #aaa; }
  select, input[type=number] { background: #222; color: #eee; border: 1px solid #444; border-radius: 6px; padding: 6px; width: 110px; }
  select { width: 190px; }
  button { background: #2b7bd6; color: #fff; border: 0; border-radius: 6px; padding: 9px 18px; font-size: 15px; cursor: pointer; }
  button:disabled { background: #444; cursor: wait; }
  button.secondary { background: #8a2f2f; }
  #status { min-height: 22px; color: #aaa; }
  #compare { position: relative; display: none; margin-top: 12px; max-width: 100%; user-select: none; }
  #compare img { display: block; width: 100%; image-rendering: pixelated; }
  #after { position: absolute; top: 0; left: 0; clip-path: inset(0 0 0 50%); }
  #slider { width: 100%; margin-top: 8px; }
  .legend { display: flex; justify-content: space-between; font-size: 13px; color: #aaa; }
  progress { width: 100%; height: 6px; }
</style>
</head>
<body>
<main>
  <h1>diffrestore: zero-shot restoration preview</h1>
  <div id="drop">Drop an image here, or click to pick one<input id="file" type="file" accept="image/png,image/jpeg" hidden></div>
  <div class="controls">
    <label>task<select id="task"><option value="sr-bicubic">super-resolution</option><option value="sr">super-resolution (average pooling)</option><option value="colorize">colorize</option><option value="denoise">denoise</option><option value="denoise-irsde">denoise (IR-SDE)</option><option value="inpaint">inpaint (transparent = hole)</option></select></label>
    <label>scale<input id="scale" type="number" min="1" max="8" value="4"></label>
    <label>steps<input id="steps" type="number" min="1" max="50" placeholder="auto"></label>
    <label>seed<input id="seed" type="number" min="0" value="0"></label>
    <button id="go" disabled>Restore</button>
    <button id="cancel" class="secondary" hidden>Cancel</button>
  </div>
  <progress id="progress" max="1" value="0" hidden></progress>
  <div id="status">Pick an image to start.</div>
  <div id="compare"><img id="before" alt="before"><img id="after" alt="after"></div>
  <input id="slider" type="range" min="0" max="100" value="50" hidden>
  <div class="legend" id="legend" hidden><span>before</span><span>after</span></div>
</main>
<script type="module">
const $ = (id) => document.getElementById(id);
let file = null;
const pick = (f) => {
  if (!f) return;
  file = f;
  $("go").disabled = false;
  $("status").textContent = f.name + " (" + Math.round(f.size / 1024) + " KB)";
};
$("drop").onclick = () => $("file").click();
$("file").onchange = (e) => pick(e.target.files[0]);
$("drop").ondragover = (e) => { e.preventDefault(); $("drop").classList.add("over"); };
$("drop").ondragleave = () => $("drop").classList.remove("over");
$("drop").ondrop = (e) => { e.preventDefault(); $("drop").classList.remove("over"); pick(e.dataTransfer.files[0]); };
$("slider").oninput = (e) => { $("after").style.clipPath = "inset(0 0 0 " + e.target.value + "%)"; };
let stop = null;
const show = (src) => {
  $("after").src = src;
  $("compare").style.display = "block";
  $("slider").hidden = false;
  $("legend").hidden = false;
};
// no comparison until this run has a result: a refused upload must not sit over an old "after"
const hideResult = () => {
  $("compare").style.display = "none";
  $("slider").hidden = true;
  $("legend").hidden = true;
  $("after").removeAttribute("src");
};
// server-sent events over a POST: split the streamed body on blank lines
async function* events(res) {
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buf += value;
    let cut;
    while ((cut = buf.indexOf("\\n\\n")) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      const name = (block.match(/^event: (.*)$/m) || [])[1] || "message";
      const data = (block.match(/^data: (.*)$/m) || [])[1];
      yield [name, data ? JSON.parse(data) : null];
    }
  }
}
$("cancel").onclick = () => stop && stop.abort();
$("go").onclick = async () => {
  if (!file) return;
  // "denoise (IR-SDE)" is task=denoise with method=irsde, which runs its network's trained steps
  const irsde = $("task").value === "denoise-irsde";
  const q = new URLSearchParams(irsde
    ? { task: "denoise", method: "irsde", seed: $("seed").value, stream: "1" }
    : { task: $("task").value, scale: $("scale").value, seed: $("seed").value, stream: "1" });
  // empty steps: the model's own default for the task
  if (!irsde && $("steps").value) q.set("steps", $("steps").value);
  const status = $("status");
  hideResult();
  delete status.dataset.done; delete status.dataset.error; delete status.dataset.cancelled; delete status.dataset.step;
  $("go").disabled = true;
  $("cancel").hidden = false;
  $("progress").hidden = false;
  $("progress").value = 0;
  stop = new AbortController();
  // the before image is set once per run; each step only replaces the after image
  if ($("before").src) URL.revokeObjectURL($("before").src);
  $("before").src = URL.createObjectURL(file);
  const t0 = performance.now();
  const secs = () => ((performance.now() - t0) / 1000).toFixed(1) + " s";
  status.textContent = "Sending...";
  try {
    const form = new FormData();
    form.append("image", file);
    const res = await fetch("/v1/restore?" + q, { method: "POST", body: form, signal: stop.signal });
    if (!res.ok) throw new Error((await res.json()).error);
    for await (const [name, ev] of events(res)) {
      if (name === "queued") status.textContent = "Waiting for a free slot (" + ev.ahead + " ahead)...";
      if (name === "progress") {
        // each step's x0 estimate replaces the after image as it comes
        show(ev.image);
        $("progress").value = ev.step / ev.total;
        status.textContent = "Step " + ev.step + " of " + ev.total + ", " + secs();
        status.dataset.step = ev.step + "/" + ev.total;
      }
      if (name === "error") throw new Error(ev.error);
      if (name === "done") {
        show(ev.image);
        await $("after").decode();
        status.textContent = "Done in " + secs() + ": " + ev.width + "x" + ev.height + ", " + ev.steps + " steps, seed " + ev.seed;
        status.dataset.done = ev.width + "x" + ev.height;
      }
    }
  } catch (err) {
    if (stop.signal.aborted) {
      status.textContent = "Cancelled after " + secs() + ".";
      status.dataset.cancelled = "1";
    } else {
      status.textContent = "Error: " + err.message;
      status.dataset.error = err.message;
    }
  } finally {
    stop = null;
    $("cancel").hidden = true;
    $("progress").hidden = true;
    $("go").disabled = false;
  }
};
</script>
</body>
</html>
`;
