import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium (never a downloaded browser), launched the way every browser test of the project does. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}
