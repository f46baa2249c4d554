#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Drives hoist's dashboard in a real browser (Debian's chromium, headless,
// through npm playwright-core) against a running `hoist serve` with one
// running job, and fails on anything a user would see go wrong:
//
//   node dashboard_browser.js BASE_URL TOKEN JOB_ID STAMPS ARTIFACTS [OPEN_URL]
//
// BASE_URL is hoist serve's http://127.0.0.1:PORT; STAMPS the file where the
// job's command appends "MS LINE" for every line the trainer prints (MS: the
// wall clock when it printed it); ARTIFACTS a folder for screenshots;
// OPEN_URL what `hoist serve --open` printed.  Prints "# ..." lines with
// what it measured and "dashboard: ok" at the end.
'use strict';

const fs = require('fs');
const path = require('path');
const { chromium } = require(path.join(__dirname, 'node', 'node_modules', 'playwright-core'));

const [base, token, jobId, stamps, artifacts, openUrl] = process.argv.slice(2);
if (!base || !token || !jobId || !stamps || !artifacts) {
        console.error('usage: dashboard_browser.js BASE_URL TOKEN JOB_ID STAMPS ARTIFACTS [OPEN_URL]');
        process.exit(2);
}
const T = 60000;
const problems = [];
const note = (s) => console.log(`# ${s}`);
const shot = async (page, name) => {
        const file = path.join(artifacts, name);
        await page.screenshot({ path: file, fullPage: false });
        note(`screenshot ${file}`);
};

// Every console error, uncaught exception and failed request but the
// aborts of streams the page closed itself.
// With ALLOW401, the 401s the page was sent to provoke (and chromium's
// console line for each) are expected.
function watch(page, label, allow401) {
        page.on('console', (m) => {
                if (m.type() !== 'error') return;
                if (allow401 && /status of 401/.test(m.text())) return;
                problems.push(`${label}: console error: ${m.text()}`);
        });
        page.on('pageerror', (e) => problems.push(`${label}: uncaught: ${e.message}`));
        page.on('requestfailed', (r) => {
                const f = r.failure();
                if (f && /ERR_ABORTED/.test(f.errorText)) return;
                problems.push(`${label}: request failed: ${r.method()} ${r.url()} ${f ? f.errorText : ''}`);
        });
        page.on('response', (r) => {
                if (allow401 && r.status() === 401) return;
                if (r.status() >= 400) problems.push(`${label}: ${r.status()} for ${r.request().method()} ${r.url()}`);
        });
}

// Records, in the page, when the loss chart shows a new last step.
function recordChart() {
        window.__drawn = [];
        const seen = new WeakSet();
        const hook = () => {
                for (const s of document.querySelectorAll('figure.chart[data-key="loss"] svg.chart-svg')) {
                        if (seen.has(s)) continue;
                        seen.add(s);
                        new MutationObserver(() => {
                                const step = Number(s.dataset.lastStep);
                                const last = window.__drawn[window.__drawn.length - 1];
                                if (!last || last.step !== step) window.__drawn.push({ step, at: Date.now() });
                        }).observe(s, { attributes: true, attributeFilter: ['data-last-step'] });
                }
        };
        new MutationObserver(hook).observe(document, { childList: true, subtree: true });
}

function printedAt() {
        const m = new Map();
        for (const line of fs.readFileSync(stamps, 'utf8').split('\n')) {
                const sp = line.indexOf(' ');
                if (sp < 0) continue;
                try {
                        const j = JSON.parse(line.slice(sp + 1));
                        if (typeof j.step === 'number' && typeof j.loss === 'number' && !m.has(j.step))
                                m.set(j.step, Number(line.slice(0, sp)));
                } catch (e) { /* not a metrics line */ }
        }
        return m;
}

// The laptop-sized session: everything but --open and a refused token.
async function laptop(page) {
        page.setDefaultTimeout(T);
        watch(page, 'laptop');
        await page.addInitScript(recordChart);

        // The token is asked for once, in a form.
        await page.goto(base + '/');
        await page.locator('#token-dialog[open] #token-input').fill(token);
        await page.keyboard.press('Enter');
        await page.locator('#token-dialog').waitFor({ state: 'hidden' });
        const stored = await page.evaluate(() => sessionStorage.getItem('hoist.api.token'));
        if (stored !== token) throw new Error('the token was not kept in sessionStorage');

        // The job is listed, running; the row opens with the keyboard.
        const row = page.locator(`tr[data-id="${jobId}"]`);
        await row.waitFor();
        await page.locator(`tr[data-id="${jobId}"][data-state="running"]`).waitFor();
        note(`jobs view lists ${jobId}: ${(await row.innerText()).replace(/\s+/g, ' ')}`);
        await shot(page, 'jobs.png');
        await row.focus();
        await page.keyboard.press('Enter');
        await page.waitForURL(`**/#/jobs/${jobId}`);

        // The loss chart gains points and the log grows while it runs.
        const loss = page.locator('figure.chart[data-key="loss"] svg.chart-svg');
        await loss.waitFor();
        await page.waitForFunction(() => {
                const s = document.querySelector('figure.chart[data-key="loss"] svg.chart-svg');
                return s && Number(s.dataset.points) > 0;
        });
        const p0 = Number(await loss.getAttribute('data-points'));
        const log = page.locator('#log');
        await page.waitForFunction(() => document.getElementById('log').textContent.length > 0);
        const l0 = (await log.textContent()).length;
        await page.waitForFunction((n) => {
                const s = document.querySelector('figure.chart[data-key="loss"] svg.chart-svg');
                return Number(s.dataset.points) >= n + 8;
        }, p0);
        await page.waitForFunction((n) => document.getElementById('log').textContent.length > n, l0);
        const p1 = Number(await loss.getAttribute('data-points'));
        const l1 = (await log.textContent()).length;
        note(`loss chart: ${p0} -> ${p1} points; log pane: ${l0} -> ${l1} characters, while running`);
        // No layout shift as the log streams: the pane keeps its box.
        const box0 = await log.boundingBox();
        await page.waitForFunction((n) => document.getElementById('log').textContent.length > n, l1);
        const box1 = await log.boundingBox();
        if (box0.height !== box1.height || box0.y !== box1.y)
                throw new Error(`the log pane moved or grew: ${JSON.stringify(box0)} -> ${JSON.stringify(box1)}`);
        // Hover values.
        const bb = await loss.boundingBox();
        await page.mouse.move(bb.x + bb.width * 0.6, bb.y + bb.height / 2);
        await page.locator('figure.chart[data-key="loss"] .chart-tip:not([hidden])').waitFor();
        note(`hover: ${(await page.locator('figure.chart[data-key="loss"] .chart-tip').innerText()).trim()}`);
        await shot(page, 'job.png');

        // From the trainer's print to the point on the chart.
        const drawn = (await page.evaluate(() => window.__drawn)).slice(1);
        const printed = printedAt();
        const lat = drawn.filter((d) => printed.has(d.step)).map((d) => d.at - printed.get(d.step));
        lat.sort((a, b) => a - b);
        if (lat.length) {
                const q = (f) => lat[Math.min(lat.length - 1, Math.floor(f * lat.length))];
                note(`print-to-chart latency over ${lat.length} points: median ${q(0.5)} ms, ` +
                     `p90 ${q(0.9)} ms, max ${lat[lat.length - 1]} ms (not asserted)`);
        } else {
                note('print-to-chart latency: no live point matched a printed line');
        }

        // Phone width.
        await page.setViewportSize({ width: 390, height: 844 });
        await page.waitForTimeout(0);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        if (overflow > 1) throw new Error(`the job page is ${overflow}px wider than a 390px phone`);
        await shot(page, 'job-phone.png');
        await page.setViewportSize({ width: 1366, height: 768 });

        // Cancel from the UI, confirming, and see it end canceled.  A read of
        // the job record that was on its way while the cancel ended comes
        // back older than the stream's frame: the page must read it again.
        // Made certain here: each read answered with a state other than
        // canceled is held until the page has shown the cancel.
        let release;
        const released = new Promise((r) => { release = r; });
        let heldOne;
        const held = new Promise((r) => { heldOne = r; });
        const isRecord = (u) => new URL(u).pathname === `/api/v1/jobs/${jobId}`;
        // A held read the page has given up on (playwright: "Route is
        // already handled") is nobody's to answer.
        const gone = (e) => { if (!/already handled/.test(String(e))) throw e; };
        const hold = async (route) => {
                if (route.request().method() !== 'GET') return route.continue().catch(gone);
                const resp = await route.fetch();
                const body = await resp.json();
                if (body.state !== 'canceled') {
                        heldOne();
                        await released;
                }
                await route.fulfill({ response: resp, json: body }).catch(gone);
        };
        await page.route(isRecord, hold);
        await held; // the page's next look at the job (every 5 s) is on its way
        await page.locator('button', { hasText: 'Cancel job' }).click();
        await page.locator('#confirm-dialog[open]').waitFor();
        await page.locator('#confirm-yes').click();
        await page.locator('.view-head .badge[data-state="canceled"]').waitFor({ timeout: T });
        note('canceled from the UI; the job page shows it canceled');
        release();
        await page.locator('.timeline .badge[data-state="canceled"]').waitFor({ timeout: T });
        await page.unroute(isRecord, hold);

        // Resume it from the page (confirming): attempt 2 runs from the
        // last checkpoint, its points a second line beside attempt 1's.
        // While the canceled attempt is still stopping, the server
        // refuses (409, shown on the page); a user tries again.
        let refusals = 0;
        for (;;) {
                await page.locator('button', { hasText: 'Resume' }).click();
                await page.locator('#confirm-dialog[open]').waitFor();
                await page.locator('#confirm-yes').click();
                const started = page.locator('.view-head .badge[data-state="starting"], .view-head .badge[data-state="running"]');
                const refused = page.locator('.banner:has-text("Cannot resume")');
                await started.or(refused).first().waitFor({ timeout: T });
                if (await started.count()) break;
                if (++refusals > 20) throw new Error(`resume refused: ${await refused.innerText()}`);
                await page.waitForTimeout(500);
        }
        if (refusals) note(`resume was refused ${refusals} time(s) while attempt 1 stopped`);
        await page.locator('.view-head .badge[data-state="running"]').waitFor({ timeout: T });
        await page.locator('figure.chart[data-key="loss"] .legend li', { hasText: 'attempt 2' }).waitFor({ timeout: T });
        const legend = (await page.locator('figure.chart[data-key="loss"] .legend').innerText()).replace(/\s+/g, ' ');
        note(`resumed from the UI; the loss chart's legend: ${legend}`);
        await shot(page, 'job-attempts.png');
        await page.locator('button', { hasText: 'Cancel job' }).click();
        await page.locator('#confirm-dialog[open]').waitFor();
        await page.locator('#confirm-yes').click();
        await page.locator('.view-head .badge[data-state="canceled"]').waitFor({ timeout: T });

        // Back to the list, filtered by state, then the phone view of it.
        await page.locator('a', { hasText: 'All jobs' }).click();
        await page.locator(`tr[data-id="${jobId}"][data-state="canceled"]`).waitFor();
        await page.selectOption('#f-state', 'canceled');
        await page.locator(`tr[data-id="${jobId}"]`).waitFor();
        await page.selectOption('#f-state', 'running');
        await page.locator(`tr[data-id="${jobId}"]`).waitFor({ state: 'detached' });
        await page.selectOption('#f-state', '');
        await page.setViewportSize({ width: 390, height: 844 });
        await page.locator(`tr[data-id="${jobId}"]`).waitFor();
        const ow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        if (ow > 1) throw new Error(`the jobs page is ${ow}px wider than a 390px phone`);
        await shot(page, 'jobs-phone.png');
        await page.setViewportSize({ width: 1366, height: 768 });

        // The cost view.
        // GET /api/v1/cost comes with the cost engineer's work; until
        // openapi.json lists it, the view is not checked.
        const spec = await page.evaluate(async (t) => (await fetch('/api/v1/openapi.json',
                { headers: { Authorization: 'Bearer ' + t } })).json(), token);
        if (!spec.paths || !spec.paths['/cost']) {
                note('cost view: not checked, the API has no /cost yet');
        } else {
                await page.locator('nav a', { hasText: 'Cost' }).click();
                await page.locator('#cost-body .cards').waitFor();
                await page.locator(`#cost-jobs tr:has(a[href="#/jobs/${jobId}"])`).waitFor();
                const txt = (await page.locator(`#cost-jobs tr:has(a[href="#/jobs/${jobId}"])`).innerText());
                if (!txt.includes('/')) throw new Error(`the cost view shows no rate for the job: ${txt}`);
                note(`cost view: ${txt.replace(/\s+/g, ' ')}`);
                await page.locator('.cost-svg line.limit').waitFor({ state: 'attached' });
                note(`cost view: limits ${(await page.locator('ul.limits').innerText()).replace(/\s+/g, ' ')}`);
                await shot(page, 'cost.png');
        }
}

async function main() {
        fs.mkdirSync(artifacts, { recursive: true });
        const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
                args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
        try {
                const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
                const page = await ctx.newPage();
                try {
                        await laptop(page);
                } catch (e) {
                        // What the page showed when it went wrong.
                        await page.screenshot({ path: path.join(artifacts, 'failure.png') }).catch(() => {});
                        const banners = await page.locator('.banner:visible, .fault').allInnerTexts().catch(() => []);
                        note(`failure.png saved; the page said: ${banners.join(' | ') || '(nothing)'}`);
                        throw e;
                }
                await ctx.close();


                // `hoist serve --open`'s URL: the token comes in the fragment,
                // lands in sessionStorage, and leaves the address bar.
                if (openUrl) {
                        const c2 = await browser.newContext({ viewport: { width: 1366, height: 768 } });
                        const p2 = await c2.newPage();
                        p2.setDefaultTimeout(T);
                        watch(p2, 'open');
                        await p2.goto(openUrl);
                        await p2.locator(`tr[data-id="${jobId}"]`).waitFor();
                        if (await p2.locator('#token-dialog').isVisible())
                                throw new Error('the --open URL still asked for the token');
                        const href = p2.url();
                        if (href.includes('token')) throw new Error(`the address bar still carries the token: ${href}`);
                        if ((await p2.evaluate(() => sessionStorage.getItem('hoist.api.token'))) !== token)
                                throw new Error('the --open URL did not store the token');
                        note(`--open URL: token taken, address bar now ${href}`);
                        await c2.close();
                }

                // A token the server refuses: the page asks again, and goes
                // on with the right one.
                const c3 = await browser.newContext({ viewport: { width: 1366, height: 768 } });
                const p3 = await c3.newPage();
                p3.setDefaultTimeout(T);
                watch(p3, 'refused', true);
                await p3.goto(base + '/#token=not-the-token');
                await p3.locator('#token-dialog[open] #token-error:has-text("refused")').waitFor();
                await p3.locator('#token-input').fill(token);
                await p3.keyboard.press('Enter');
                await p3.locator(`tr[data-id="${jobId}"]`).waitFor();
                note('a refused token: the page asked again and went on with the right one');
                await c3.close();
        } finally {
                await browser.close();
        }
        if (problems.length) throw new Error('the browser saw problems');
        console.log('dashboard: ok');
}

main().catch((e) => {
        console.error(`dashboard: FAIL: ${e.message}`);
        const counts = new Map();
        for (const p of problems) counts.set(p, (counts.get(p) || 0) + 1);
        for (const [p, n] of counts) console.error(`  ${p}${n > 1 ? ` (${n} times)` : ''}`);
        process.exit(1);
});
