// Opens an HTML file in Debian's headless Chromium through playwright-core and
// reports what a person would notice: console errors, failed or outside requests,
// the charts on the page, and a screenshot. Shared by the report tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.RESTLAKE_CHROMIUM ?? '/usr/bin/chromium';

export interface PageCheck {
  title: string;
  consoleErrors: string[];
  pageErrors: string[];
  /** URLs the page requested besides itself. */
  otherRequests: string[];
  charts: Array<{ id: string; shapes: number; width: number; height: number }>;
  text: string;
}

export async function checkPage(htmlPath: string, screenshotPath: string): Promise<PageCheck> {
  const profile = await mkdtemp(join(tmpdir(), 'restlake-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 1000 },
  });
  try {
    const page = await ctx.newPage();
    const check: PageCheck = { title: '', consoleErrors: [], pageErrors: [], otherRequests: [], charts: [], text: '' };
    const self = pathToFileURL(htmlPath).href;
    page.on('console', (m) => {
      if (m.type() === 'error') check.consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => check.pageErrors.push(String(e)));
    page.on('request', (r) => {
      if (r.url() !== self) check.otherRequests.push(r.url());
    });
    await page.goto(self, { waitUntil: 'load' });
    check.title = await page.title();
    check.charts = await page.$$eval('svg[data-chart]', (els) =>
      els.map((el) => {
        const box = el.getBoundingClientRect();
        return { id: el.getAttribute('data-chart') ?? '', shapes: el.querySelectorAll('rect.bar, circle.dot, polyline.line').length, width: box.width, height: box.height };
      }),
    );
    check.text = await page.innerText('body');
    await page.screenshot({ path: screenshotPath, fullPage: true });
    return check;
  } finally {
    await ctx.close();
    await rm(profile, { recursive: true, force: true });
  }
}
