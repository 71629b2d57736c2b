// Drives aadtrace's HTML report in the system Chromium through playwright-core.
// Run by tests/html_browser.rs with one argument: a JSON file naming the pages
// and what the Rust side expects of them (computed from the analysis, not
// from the page). Exits non-zero with a message on the first failed check.
"use strict";

const fs = require("fs");
const path = require("path");
const { chromium } = require("playwright-core");

const plan = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));

function check(ok, what) {
  if (!ok) {
    throw new Error("FAILED: " + what);
  }
}

async function visibleRows(page) {
  return page.locator("#req-table > tbody > tr:not([hidden])").count();
}

// Opens `file` in a fresh context (`height` px tall, 1400 wide, with
// clipboard access), collecting console errors, page errors and every request
// that leaves the file, and waits for the page's script.
async function open(browser, file, height) {
  const context = await browser.newContext({ viewport: { width: 1400, height } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  const requests = [];
  page.on("request", (r) => {
    if (!r.url().startsWith("file://")) requests.push(r.url());
  });
  await page.goto("file://" + file);
  await page.waitForSelector("html[data-js=ready]", { timeout: 20000 });
  return { context, page, errors, requests };
}

async function testPage(browser, p) {
  const { context, page, errors } = await open(browser, p.file, 1000);

  // Expand a step, then its request headers: the Cookie header is there,
  // its value masked, the original value nowhere on the page.
  const row = page.locator("#step-" + p.cookie_step);
  await row.locator(":scope > summary").click();
  check(await row.evaluate((d) => d.open), p.name + ": step " + p.cookie_step + " opens");
  const headers = row.locator("details.req-headers");
  await headers.locator(":scope > summary").click();
  const cookieRow = headers.locator("tr", { has: page.locator("td:first-child", { hasText: /^cookie$/i }) });
  check((await cookieRow.count()) === 1, p.name + ": one Cookie header row");
  check(await cookieRow.isVisible(), p.name + ": the Cookie header row is visible once expanded");
  const cookieText = await cookieRow.innerText();
  check(cookieText.includes("[redacted]"), p.name + ": the cookie is masked: " + cookieText);
  check(!cookieText.includes(p.cookie_secret), p.name + ": the cookie's value is not shown");
  const html = await page.content();
  check(!html.includes(p.cookie_secret), p.name + ": the cookie's value is nowhere in the DOM");

  // Host lanes: one per host and one bar per request; pointing at a bar names
  // its request, clicking it opens the row that shows the request.
  const lanes = await page.locator("#lanes .lane").count();
  check(lanes === p.hosts, p.name + ": " + lanes + " host lanes, expected " + p.hosts);
  const bars = await page.locator("#lanes a.bar").count();
  check(bars === p.requests, p.name + ": " + bars + " bars, expected " + p.requests);
  for (const id of p.lane_bars) {
    const bar = page.locator('#lanes a.bar[data-step="' + id + '"]');
    // Bars of close requests overlap: events go to this bar, not to a point.
    await bar.dispatchEvent("mouseover");
    const info = await page.locator("#lane-info").innerText();
    check(info.startsWith("#" + id + " "), p.name + ": pointing at bar " + id + " shows " + info);
    await bar.evaluate((a) => a.click());
    const target = (await bar.getAttribute("href")).slice(1);
    const open = await page.evaluate((t) => {
      const el = document.getElementById(t);
      if (!el) return false;
      const d = el.tagName === "DETAILS" ? el : el.querySelector("details.inline") || el.closest("details");
      return !!d && d.open;
    }, target);
    check(open, p.name + ": clicking bar " + id + " opened " + target);
    check(page.url().endsWith("#" + target), p.name + ": clicking bar " + id + " moved to " + target);
  }
  await page.evaluate(() => document.querySelectorAll("details").forEach((d) => (d.open = false)));
  // The table's checks hold wherever the page is scrolled: start with it off screen.
  await page.evaluate(() => window.scrollTo(0, 0));

  // Filter all requests by a host, then by text (a correlation id).
  const total = await visibleRows(page);
  check(total === p.requests, p.name + ": " + total + " rows, expected " + p.requests);
  await page.selectOption("#req-host", p.host);
  const byHost = await visibleRows(page);
  check(byHost === p.host_rows, p.name + ": host " + p.host + " shows " + byHost + ", expected " + p.host_rows);
  // textContent, not innerText: the requests section has content-visibility:
  // auto, and Chromium's innerText of its cells is "" while it is off screen
  // (where the page is scrolled to after the bar clicks varies with timing).
  const hosts = (await page.locator("#req-table > tbody > tr:not([hidden]) > td.host").allTextContents()).map((h) => h.trim());
  check(hosts.every((h) => h === p.host), p.name + ": only rows of " + p.host + ", not " + JSON.stringify(hosts.filter((h) => h !== p.host)));
  await page.selectOption("#req-host", "");
  await page.fill("#req-search", p.correlation_id);
  const found = await visibleRows(page);
  check(found >= p.correlation_rows, p.name + ": search finds " + found + " rows, expected at least " + p.correlation_rows);
  check(found < total, p.name + ": search narrows the table");
  await page.fill("#req-search", "");
  check((await visibleRows(page)) === total, p.name + ": clearing the search shows every row");
  // Sorting by status keeps every row.
  await page.click("#req-table th:nth-child(5)");
  check((await visibleRows(page)) === total, p.name + ": sorting keeps every row");

  // One arrow per hop; the failing ones red and saying so.
  for (const f of p.flows) {
    const svg = page.locator("#seq-" + f.id);
    const hops = await svg.locator("g.hop").count();
    check(hops === f.hops, p.name + ": flow " + f.id + " has " + hops + " arrows, expected " + f.hops);
    const failed = svg.locator("g.hop.failed");
    check((await failed.count()) === f.failed.length, p.name + ": flow " + f.id + " failed hops " + (await failed.count()) + ", expected " + f.failed.length);
    for (let i = 0; i < f.failed.length; i++) {
      const g = failed.nth(i);
      check((await g.getAttribute("data-target")) === f.failed[i], p.name + ": failed hop " + i + " is " + f.failed[i]);
      check((await g.locator("text").textContent()).includes("FAILED"), p.name + ": a failed hop says FAILED");
      const stroke = await g.locator("line").evaluate((l) => getComputedStyle(l).stroke);
      check(stroke === "rgb(198, 40, 40)", p.name + ": a failed hop is red, not " + stroke);
    }
  }

  // Following a finding's step link opens the row it lands on.
  const link = page.locator("article.finding a[href^='#step-']").first();
  if ((await link.count()) > 0) {
    const target = (await link.getAttribute("href")).slice(1);
    await page.evaluate(() => document.querySelectorAll("details").forEach((d) => (d.open = false)));
    await link.click();
    const open = await page.evaluate((id) => {
      const el = document.getElementById(id);
      return !!el && !!el.closest("details") && el.closest("details").open;
    }, target);
    check(open, p.name + ": the step link opened " + target);
    check(page.url().endsWith("#" + target), p.name + ": the link moved to " + target);
  }

  // Screenshots, and no horizontal cut-off at 900 px.
  await page.evaluate(() => document.querySelectorAll("details").forEach((d) => (d.open = false)));
  for (const width of [900, 1400]) {
    await page.setViewportSize({ width, height: 1000 });
    await page.evaluate(() => window.scrollTo(0, 0));
    const shot = path.join(plan.shots, p.name + "-" + width + ".png");
    await page.screenshot({ path: shot, fullPage: true });
    const overflow = await page.evaluate(() => {
      const marks = Array.from(document.querySelectorAll(".row > summary .marks, .band > summary .marks"));
      const right = Math.max(0, ...marks.map((m) => m.getBoundingClientRect().right));
      return { right, page: document.documentElement.scrollWidth, view: window.innerWidth };
    });
    // The host lanes and every waterfall share the page's time axis: their
    // tracks start and end at the same pixel.
    const tracks = await page.evaluate(() =>
      Array.from(document.querySelectorAll(".lane > .track, .row > summary > .track, .axis > .scale, .lane-axis > .scale")).map((t) => {
        const r = t.getBoundingClientRect();
        return [Math.round(r.left * 10) / 10, Math.round(r.right * 10) / 10];
      })
    );
    check(tracks.length > 2, p.name + ": tracks to compare");
    const [l0, r0] = tracks[0];
    check(
      tracks.every(([l, r]) => Math.abs(l - l0) < 0.6 && Math.abs(r - r0) < 0.6),
      p.name + " at " + width + " px: lanes and waterfalls do not line up: " + JSON.stringify(tracks.slice(0, 8))
    );
    check(overflow.right <= overflow.view, p.name + " at " + width + " px: the badge column ends at " + overflow.right);
    check(overflow.page <= overflow.view, p.name + " at " + width + " px: the page is " + overflow.page + " px wide");
    console.log("screenshot " + shot);
  }
  check(errors.length === 0, p.name + ": console errors: " + errors.join(" | "));
  await context.close();
  console.log("ok " + p.name);
}

// Any trace's page: it opens without console errors, its verdict and the
// step the verdict rests on are in the first screen at 900 and 1400 px, that
// step's link opens its row, "Copy for ticket" copies the --ticket text, and
// a screenshot is kept at each width.
async function tourPage(browser, p) {
  const { context, page, errors, requests } = await open(browser, p.file, 800);

  for (const width of [900, 1400]) {
    await page.setViewportSize({ width, height: 800 });
    await page.evaluate(() => window.scrollTo(0, 0));
    const seen = await page.evaluate(() => {
      const bottom = (id) => {
        const el = document.getElementById(id);
        return el ? el.getBoundingClientRect().bottom : null;
      };
      return { verdict: bottom("verdict"), failing: bottom("failing-step"), view: window.innerHeight };
    });
    check(seen.verdict !== null && seen.verdict <= seen.view, p.name + " at " + width + " px: the verdict ends at " + seen.verdict);
    if (p.failing) {
      check(seen.failing !== null && seen.failing <= seen.view, p.name + " at " + width + " px: the failing step ends at " + seen.failing);
    } else {
      check(seen.failing === null, p.name + ": no failing step is named");
    }
    // What a user sees without scrolling, and the whole page.
    const first = path.join(plan.shots, p.name + "-" + width + "-first-screen.png");
    await page.screenshot({ path: first });
    const shot = path.join(plan.shots, p.name + "-" + width + ".png");
    await page.screenshot({ path: shot, fullPage: true });
    console.log("screenshot " + first + " " + shot);
  }
  const verdict = await page.locator("#verdict").textContent();
  check(verdict === p.verdict, p.name + ": the verdict reads " + verdict + ", expected " + p.verdict);

  // The failing step's link lands on an open row.
  if (p.failing) {
    const link = page.locator("#failing-step a").first();
    check((await link.getAttribute("href")) === "#" + p.failing, p.name + ": the failing step links to " + p.failing);
    await link.click();
    const open = await page.evaluate((id) => {
      const el = document.getElementById(id);
      if (!el) return false;
      const d = el.tagName === "DETAILS" ? el : el.querySelector("details.inline") || el.closest("details");
      return !!d && d.open;
    }, p.failing);
    check(open, p.name + ": the failing step's link opened " + p.failing);
  }

  // Copy for ticket: the same text as `aadtrace analyze --ticket`.
  await page.click("#copy-ticket");
  // (waitForFunction would evaluate a string, which the page's CSP forbids.)
  await page.locator("#copy-done:not(:empty)").waitFor();
  const done = await page.locator("#copy-done").textContent();
  check(done === "Copied.", p.name + ": copying says " + done);
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  check(copied === p.ticket, p.name + ": the clipboard holds the ticket:\n" + copied + "\n---expected---\n" + p.ticket);
  check(requests.length === 0, p.name + ": the page fetched " + requests.join(" "));

  check(errors.length === 0, p.name + ": console errors: " + errors.join(" | "));
  await context.close();
  console.log("ok " + p.name);
}

// A page built from a trace full of script, markup and javascript: URLs, its
// step details deferred: once every step is open (so every detail is in the
// DOM), nothing from the trace ran, loaded or became an element.
async function hostilePage(browser, p) {
  const { context, page, errors, requests } = await open(browser, p.file, 1000);
  await page.click("#expand");
  await page.locator("div.detail[data-detail]").first().waitFor({ state: "detached" });
  const seen = await page.evaluate(() => {
    const all = Array.from(document.querySelectorAll("*"));
    return {
      title: document.title,
      filled: document.querySelectorAll("div.detail[data-detail]").length,
      parts: document.querySelectorAll("div.detail details.part").length,
      imgs: document.querySelectorAll("img, iframe, object, embed").length,
      scripts: Array.from(document.scripts).map((s) => s.type || "js"),
      handlers: all.filter((el) => Array.from(el.attributes).some((a) => a.name.startsWith("on"))).length,
      jsLinks: document.querySelectorAll("a[href^='javascript:' i]").length,
    };
  });
  check(seen.title === "aadtrace report", "hostile: the title became " + seen.title);
  check(seen.filled === 0, "hostile: " + seen.filled + " details were not filled");
  check(seen.parts > p.details, "hostile: the details are in the DOM (" + seen.parts + " parts)");
  check(seen.imgs === 0, "hostile: an injected element exists");
  const js = seen.scripts.filter((t) => t === "js").length;
  const other = seen.scripts.filter((t) => t !== "js" && t !== "text/html" && t !== "application/json");
  check(js === 1 && other.length === 0, "hostile: scripts " + JSON.stringify(seen.scripts));
  check(seen.handlers === 0, "hostile: " + seen.handlers + " elements carry event handlers");
  check(seen.jsLinks === 0, "hostile: a javascript: link exists");
  check(requests.length === 0, "hostile: the page fetched " + requests.join(" "));
  check(errors.length === 0, "hostile: console errors: " + errors.join(" | "));
  await context.close();
  console.log("ok hostile");
}

(async () => {
  const browser = await chromium.launch({
    executablePath: plan.chromium,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  try {
    for (const p of plan.pages) {
      await testPage(browser, p);
    }
    for (const p of plan.tour) {
      await tourPage(browser, p);
    }
    await hostilePage(browser, plan.hostile);
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
