/**
 * Debian's Chromium driven by playwright-core (never a browser download), with the
 * flags this closed network needs, and a page that collects its errors.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from './agent.js';

export const CHROMIUM = '/usr/bin/chromium';

/** For `describe(..., { skip })`: false, or why the browser tests can't run. */
export const chromiumSkip: string | false = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is not installed (scripts/setup-system.sh installs Debian's chromium package)`;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A 1280×900 page whose uncaught errors and console errors land in `errors`.
 * Chromium logs every non-2xx fetch as "Failed to load resource"; tests provoke those on purpose.
 */
export async function watchedPage(browser: Browser, errors: string[]): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) errors.push(`console: ${msg.text()}`);
  });
  return page;
}

const SHOTS = join(ROOT, 'test-artifacts', 'ui');

/**
 * Screenshots of the page at 1400 and 390 px (test-artifacts/ui/LABEL-WIDTH.png); at 390 px nothing
 * may scroll sideways, and a failure names what sticks out. Leaves the page at 1400 px.
 */
export async function shootBothWidths(page: Page, label: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.setViewportSize({ width: 1400, height: 900 });
  await page.screenshot({ path: join(SHOTS, `${label}-1400.png`), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  // Strings, evaluated in the page: the tests compile without the DOM's types. First let
  // ResizeObserver-driven parts (charts) shrink, then measure.
  await page.waitForFunction('document.documentElement.scrollWidth <= window.innerWidth', undefined, { timeout: 5000 }).catch(() => undefined);
  const [scrollWidth, innerWidth, wide] = await page.evaluate<[number, number, string]>(`[
    document.documentElement.scrollWidth,
    window.innerWidth,
    [...document.querySelectorAll('main *')]
      .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
      .slice(0, 5)
      .map((el) => el.tagName.toLowerCase() + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right))
      .join(', '),
  ]`);
  assert.ok(scrollWidth <= innerWidth, `${label}: scrollWidth ${scrollWidth} > ${innerWidth} at 390 px: ${wide}`);
  await page.screenshot({ path: join(SHOTS, `${label}-390.png`), fullPage: true });
  await page.setViewportSize({ width: 1400, height: 900 });
}
