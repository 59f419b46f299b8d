// The preview page in a real headless Chromium (Debian's package, driven by playwright-core):
// upload a photo, watch the step progress and x0 previews stream in, wait for the result, check
// its size, save a screenshot; then start a long run and cancel it from the page. Skipped, with a
// printed reason, when Chromium is not installed (.ci/run installs it).
import assert from "node:assert/strict";
import { unless } from "./_skip.ts";
import { createPreviewHandler, PREVIEW_MAX_SIDE } from "../preview/handler.ts";

const CHROMIUM = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";
const have = await Deno.stat(CHROMIUM).then(() => true, () => false);
if (!have) {
  console.log(`skipping the browser test: ${CHROMIUM} is not installed (apt-get install chromium)`);
}

Deno.test({
  ...unless(
    "browser: upload, streamed progress, before/after, cancel; screenshots",
    !have && `${CHROMIUM} is not installed (apt-get install chromium)`,
  ),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { chromium } = await import("playwright-core");
    const handler = createPreviewHandler({ defaultSteps: 8, maxSteps: 250 });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
      ],
    });
    try {
      const dir = Deno.env.get("ARTIFACTS") ??
        (await Deno.makeTempDir({ prefix: "diffrestore-browser-" }));
      await Deno.mkdir(dir, { recursive: true });
      const page = await browser.newPage({ viewport: { width: 900, height: 1000 } });
      await page.goto(`http://127.0.0.1:${server.addr.port}/`);
      assert.equal(await page.title(), "diffrestore preview");
      // the empty page shows no comparison and no legend
      assert.equal(await page.isHidden("#legend"), true, "legend hidden before a result");
      assert.equal(await page.isHidden("#compare"), true);
      await page.setInputFiles(
        "#file",
        new URL("../assets/rocket_256.png", import.meta.url).pathname,
      );
      await page.selectOption("#task", "sr-bicubic");
      await page.fill("#scale", "4");
      await page.fill("#steps", "15");
      await page.click("#go");
      // a step's x0 preview is on the page before the run ends
      await page.waitForSelector("#status[data-step]", { timeout: 60_000 });
      const firstStep = await page.getAttribute("#status", "data-step");
      // the edge network's SR defaults: the last 3 of 15 steps, for each of 2 samples
      assert.match(firstStep ?? "", /^\d+\/6$/);
      assert.match((await page.getAttribute("#after", "src")) ?? "", /^data:image\/png;base64,/);
      await page.waitForSelector("#status[data-done], #status[data-error]", { timeout: 60_000 });
      const error = await page.getAttribute("#status", "data-error");
      assert.equal(error, null, `the page reported: ${error}`);
      assert.equal(
        await page.getAttribute("#status", "data-done"),
        `${PREVIEW_MAX_SIDE}x${PREVIEW_MAX_SIDE}`,
      );
      const natural = await page.$eval(
        "#after",
        (
          img,
        ) => [
          (img as { naturalWidth: number }).naturalWidth,
          (img as { naturalHeight: number }).naturalHeight,
        ],
      );
      assert.deepEqual(natural, [PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE]);
      assert.equal(await page.getAttribute("#status", "data-step"), "6/6");
      await page.fill("#slider", "20");
      const shot = `${dir}/preview_page.png`;
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`browser test screenshot: ${shot}`);
      assert.ok((await Deno.stat(shot)).size > 10_000);

      // cancel: a long run (250 steps: 100 network calls with the SR defaults) stopped from the
      // page frees the server's slot within a step
      await page.fill("#steps", "250");
      await page.click("#go");
      await page.waitForSelector("#status[data-step]", { timeout: 60_000 });
      const progressShot = `${dir}/preview_progress.png`;
      await page.screenshot({ path: progressShot, fullPage: true });
      console.log(`browser test screenshot: ${progressShot}`);
      await page.click("#cancel");
      await page.waitForSelector("#status[data-cancelled]", { timeout: 10_000 });
      const t0 = performance.now();
      while (handler.running > 0 && performance.now() - t0 < 5_000) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(handler.running, 0, "the server stopped the cancelled run");
      assert.equal(await page.isHidden("#cancel"), true);
      assert.equal(await page.isEnabled("#go"), true);
      const cancelShot = `${dir}/preview_cancelled.png`;
      await page.screenshot({ path: cancelShot, fullPage: true });
      console.log(`browser test screenshot: ${cancelShot}`);

      // a refused upload (a GIF) clears the old result and says why; the layout stays intact
      const gif = await Deno.makeTempFile({ suffix: ".gif" });
      await Deno.writeFile(gif, new TextEncoder().encode("GIF89a\x01\x00\x01\x00\x00\x00\x00;"));
      await page.setInputFiles("#file", gif);
      await page.click("#go");
      await page.waitForSelector("#status[data-error]", { timeout: 20_000 });
      assert.match(
        (await page.getAttribute("#status", "data-error")) ?? "",
        /image|format|PNG|JPEG/i,
      );
      assert.equal(await page.isHidden("#compare"), true, "no comparison after a refused upload");
      assert.equal(await page.isHidden("#legend"), true);
      assert.equal(await page.getAttribute("#after", "src"), null);
      assert.equal(await page.isEnabled("#go"), true);
      const errorShot = `${dir}/preview_refused.png`;
      await page.screenshot({ path: errorShot, fullPage: true });
      console.log(`browser test screenshot: ${errorShot}`);
    } finally {
      await browser.close();
      await server.shutdown();
    }
  },
});
