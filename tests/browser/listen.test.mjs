// Drives the listening-test page made by `nac listen make` through a whole MUSHRA test in headless
// Chromium: served by `nac listen serve`, plays stimuli (the <audio> element reaches `playing`),
// switches versions, moves sliders by keyboard and mouse, finishes, and checks the downloaded CSV.
// Screenshots go to $OUT_DIR. Usage: node listen.test.mjs (env: NAC_BIN, TEST_DIR, OUT_DIR, CHROMIUM).
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import puppeteer from "puppeteer-core";

const NAC = path.resolve(process.env.NAC_BIN || "build/nac");
const TEST_DIR = path.resolve(process.env.TEST_DIR || "build/browser/test");
const OUT_DIR = path.resolve(process.env.OUT_DIR || "build/browser");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const LISTENER = "browser test, 1"; // a comma, so the CSV needs quoting
const DOWNLOADS = path.join(OUT_DIR, "downloads");

let passed = 0, failed = 0;
function check(name, ok, detail = "") {
  if (ok) { passed++; console.log(`PASS ${name}`); }
  else { failed++; console.log(`FAIL ${name}${detail ? ` (${detail})` : ""}`); }
  return ok;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(fn, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

// A raw HTTP request (no URL normalisation, unlike a browser): status code of the reply.
function rawStatus(port, target) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let data = "";
    s.on("connect", () => s.write(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`));
    s.on("data", (d) => { data += d.toString("latin1"); });
    s.on("end", () => resolve(parseInt(data.split(" ")[1], 10)));
    s.on("error", reject);
    s.setTimeout(5000, () => { s.destroy(); reject(new Error("timeout")); });
  });
}

// The score the test gives each condition (distinct, so the CSV check sees any mix-up).
function scoreFor(condition, k) {
  if (condition === "reference") return 100;
  if (condition === "anchor_3.5k") return 10;
  if (condition === "anchor_7k") return 35;
  return 40 + 5 * k;
}

async function main() {
  const hardStop = setTimeout(() => { console.log("FAIL browser test ran past 120 s"); process.exit(1); }, 120000);
  fs.mkdirSync(DOWNLOADS, { recursive: true });
  for (const f of fs.readdirSync(DOWNLOADS)) fs.unlinkSync(path.join(DOWNLOADS, f));

  const server = spawn(NAC, ["listen", "serve", TEST_DIR, "--port", "0", "-q"], { stdio: ["ignore", "pipe", "inherit"] });
  let browser;
  try {
    const url = await new Promise((resolve, reject) => {
      let out = "";
      server.stdout.on("data", (d) => {
        out += d;
        const m = out.match(/http:\/\/127\.0\.0\.1:(\d+)\//);
        if (m) resolve(m[0]);
      });
      server.on("exit", (c) => reject(new Error(`nac listen serve exited with ${c}`)));
      setTimeout(() => reject(new Error("nac listen serve printed no address")), 10000);
    });
    const port = parseInt(url.split(":")[2], 10);
    check("server: traversal refused", (await rawStatus(port, "/../../etc/passwd")) === 400);
    check("server: encoded traversal refused", (await rawStatus(port, "/%2e%2e/%2e%2e/etc/passwd")) === 400);
    check("server: hidden files refused", (await rawStatus(port, "/.git/config")) === 400);
    check("server: missing file is 404", (await rawStatus(port, "/nothing.wav")) === 404);
    check("server: items.js served", (await rawStatus(port, "/items.js")) === 200);

    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required", "--mute-audio",
             "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
    });
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    // media events do not bubble, but a capturing listener on the document sees them
    await page.evaluateOnNewDocument(() => {
      window.__playing = 0;
      document.addEventListener("playing", () => { window.__playing++; }, true);
    });
    const cdp = await page.createCDPSession();
    await cdp.send("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: DOWNLOADS });

    // 1. Opened as a file, the page says that it cannot play.
    await page.setViewport({ width: 1280, height: 800 });
    await page.goto("file://" + path.join(TEST_DIR, "index.html"));
    const fileMsg = await page.$eval("#problem", (e) => (e.hidden ? "" : e.textContent));
    check("file:// page explains it needs a server", /opened as a file/.test(fileMsg), fileMsg);
    await page.screenshot({ path: path.join(OUT_DIR, "mushra_file_warning.png") });

    // 2. The whole test over HTTP.
    await page.goto(url);
    await page.waitForSelector("#listener", { visible: true });
    await page.screenshot({ path: path.join(OUT_DIR, "mushra_welcome_1280x800.png") });
    await page.type("#listener", LISTENER);
    await page.keyboard.press("Enter");
    await page.waitForSelector("#trial", { visible: true });

    const items = await page.evaluate(() => window.nacListen.items());
    check("items shown", items.length >= 1, `${items.length}`);
    const expected = new Map();

    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      await until(() => page.$eval("#trial", (e) => e.getAttribute("aria-busy") === "false"), 15000, "audio loaded");
      const title = await page.$eval("#item-title", (e) => e.textContent);
      check(`item ${i + 1}: title`, title === `Item ${i + 1} of ${items.length}`, title);

      if (i === 0) {
        // Next before rating is refused with a message
        await page.click("#next");
        const msg = await page.$eval("#message", (e) => e.textContent);
        check("next before rating is refused", /Please/.test(msg), msg);

        // play the reference: the output element reaches `playing` and the audio clock runs
        await page.keyboard.press("r");
        await until(() => page.evaluate(() => window.__playing > 0), 10000, "the audio element's playing event");
        const t0 = await page.evaluate(() => window.nacListen.player().ctx.currentTime);
        await sleep(300);
        const st = await page.evaluate(() => {
          const p = window.nacListen.player();
          return { state: p.ctx.state, t: p.ctx.currentTime, sel: p.selected, playing: p.playing(),
                   paused: document.getElementById("out").paused };
        });
        check("reference plays (element playing, context running)",
              st.state === "running" && st.t > t0 && st.sel === 0 && st.playing && !st.paused, JSON.stringify(st));
        // and it is sound, not silence: the mix's peak over 200 ms
        const peak = await page.evaluate(async () => {
          const p = window.nacListen.player(), an = p.ctx.createAnalyser();
          an.fftSize = 2048;
          p.master.connect(an);
          const buf = new Float32Array(an.fftSize);
          let m = 0;
          for (let k = 0; k < 10; k++) {
            await new Promise((r) => setTimeout(r, 20));
            an.getFloatTimeDomainData(buf);
            for (const v of buf) m = Math.max(m, Math.abs(v));
          }
          p.master.disconnect(an);
          return m;
        });
        check("the reference is audible in the mix", peak > 0.01, `peak ${peak}`);
        // switching keeps playing, at the same position
        const pos0 = await page.evaluate(() => window.nacListen.player().position());
        await page.keyboard.press("2");
        const sw = await page.evaluate(() => ({ sel: window.nacListen.player().selected,
                                                playing: window.nacListen.player().playing(),
                                                pos: window.nacListen.player().position() }));
        check("switching to B keeps playing without a restart", sw.sel === 2 && sw.playing && sw.pos >= pos0,
              JSON.stringify(sw));
        // loop on by keyboard
        await page.keyboard.press("l");
        check("L turns the loop on", await page.evaluate(() => window.nacListen.player().loop === true));
        await page.keyboard.press("l");
      }

      for (let k = 0; k < it.stimuli.length; k++) {
        const cond = it.stimuli[k].condition;
        if (k < 9) await page.keyboard.press(String(k + 1));   // plays version k and focuses its slider
        else { await page.click(`#play-${k}`); await page.focus(`#score-${k}`); }
        const want = scoreFor(cond, k);
        if (i === 0 && k === 0) {
          // the mouse: a click on the slider's track, then the arrow keys to the exact value
          const box = await (await page.$(`#score-${k}`)).boundingBox();
          await page.mouse.click(box.x + box.width * 0.5, box.y + box.height / 2);
          const v = await page.$eval(`#score-${k}`, (e) => parseInt(e.value, 10));
          check("a mouse click moves a slider", v > 30 && v < 70, `${v}`);
          await page.focus(`#score-${k}`);
        }
        // keyboard: Home, Page Up in tens, arrows for the rest (each step fires `input`)
        await page.keyboard.press("Home");
        for (let s = 0; s < Math.floor(want / 10); s++) await page.keyboard.press("PageUp");
        for (let s = 0; s < want % 10; s++) await page.keyboard.press("ArrowRight");
        const got = await page.$eval(`#score-${k}`, (e) => e.value);
        const shown = await page.$eval(`#value-${k}`, (e) => e.textContent);
        if (String(want) !== got || shown !== got) check(`item ${i + 1} ${cond}: slider`, false, `${got}/${shown}`);
        expected.set(`${it.id}|${cond}`, want);
      }
      if (i === 0) {
        await page.keyboard.press("1");
        await sleep(150);
        await page.screenshot({ path: path.join(OUT_DIR, "mushra_1280x800.png") });
        await page.screenshot({ path: path.join(OUT_DIR, "mushra_1280x800_full.png"), fullPage: true });
      }
      if (i === 1 && items.length > 2) {
        // a reload in the middle: the same name resumes at this item with the ratings kept
        await page.reload();
        await page.waitForSelector("#listener", { visible: true });
        await page.type("#listener", LISTENER);
        await page.keyboard.press("Enter");
        await page.waitForSelector("#trial", { visible: true });
        await until(() => page.$eval("#trial", (e) => e.getAttribute("aria-busy") === "false"), 15000, "audio loaded");
        const back = await page.evaluate(() => ({ cur: window.nacListen.current(),
          values: Array.from(document.querySelectorAll("#ratings input")).map((e) => parseInt(e.value, 10)) }));
        const want = it.stimuli.map((s, k) => scoreFor(s.condition, k));
        check("a reload resumes where the listener was", back.cur === 1 && JSON.stringify(back.values) === JSON.stringify(want),
              JSON.stringify(back));
      }
      // on by keyboard: Tab order reaches the button, Enter activates it
      await page.focus("#next");
      await page.keyboard.press("Enter");
    }

    await page.waitForSelector("#done", { visible: true });
    await page.screenshot({ path: path.join(OUT_DIR, "mushra_done_1280x800.png") });
    const csvName = await page.$eval("#csv-name", (e) => e.textContent);
    const file = path.join(DOWNLOADS, csvName);
    await until(() => fs.existsSync(file) && fs.statSync(file).size > 0, 10000, `the download ${csvName}`);
    await sleep(200);
    const csv = fs.readFileSync(file, "utf8");
    fs.copyFileSync(file, path.join(OUT_DIR, "results.csv"));
    const lines = csv.trim().split("\n");
    check("CSV header", lines[0] === "listener,item,condition,score", lines[0]);
    let bad = 0;
    const seen = new Set();
    for (const line of lines.slice(1)) {
      const m = line.match(/^"browser test, 1",([^,]+),([^,]+),(\d+)$/);
      if (!m || expected.get(`${m[1]}|${m[2]}`) !== parseInt(m[3], 10)) { bad++; continue; }
      seen.add(`${m[1]}|${m[2]}`);
    }
    check("CSV rows: every item and condition with its score", bad === 0 && seen.size === expected.size &&
          lines.length - 1 === expected.size, `${bad} wrong, ${seen.size} of ${expected.size}`);

    // 3. Orders are seeded per listener: the same name gives the same order, another name another one.
    const orderOf = async (name) => {
      const p = await browser.newPage();
      await p.goto(url);
      await p.waitForSelector("#listener", { visible: true });
      await p.type("#listener", name);
      await p.keyboard.press("Enter");
      await p.waitForSelector("#trial", { visible: true });
      const o = await p.evaluate(() => window.nacListen.items().map((it) => it.id + ":" +
        it.stimuli.map((s) => s.condition).join(",")).join(" "));
      await p.close();
      return o;
    };
    const a1 = await orderOf(LISTENER), a2 = await orderOf(LISTENER), b = await orderOf("someone else");
    const mine = items.map((it) => it.id + ":" + it.stimuli.map((s) => s.condition).join(",")).join(" ");
    // 4. A phone-sized window (a fresh page: puppeteer reloads a page whose isMobile changes).
    const phone = await browser.newPage();
    await phone.setViewport({ width: 390, height: 844, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
    await phone.goto(url);
    await phone.waitForSelector("#listener", { visible: true });
    await phone.screenshot({ path: path.join(OUT_DIR, "mushra_welcome_phone_390x844.png") });
    await phone.type("#listener", "phone");
    await phone.keyboard.press("Enter");
    await phone.waitForSelector("#trial", { visible: true });
    await until(() => phone.$eval("#trial", (e) => e.getAttribute("aria-busy") === "false"), 15000, "audio loaded");
    await phone.keyboard.press("1");
    await sleep(150);
    await phone.screenshot({ path: path.join(OUT_DIR, "mushra_phone_390x844.png") });
    await phone.screenshot({ path: path.join(OUT_DIR, "mushra_phone_390x844_full.png"), fullPage: true });
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check("phone width: no horizontal scrolling", overflow <= 0, `${overflow} px too wide`);
    await phone.close();
    check("order is seeded by the listener", a1 === mine && a2 === mine && b !== mine);
    check("no script errors", errors.length === 0, errors.join("; "));
  } catch (e) {
    check("browser test ran to the end", false, String(e && e.stack || e));
  } finally {
    if (browser) await browser.close();
    server.kill("SIGTERM");
    clearTimeout(hardStop);
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main();
