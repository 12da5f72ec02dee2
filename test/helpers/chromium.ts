/**
 * The browser every browser test and benchmark launches: the system Chromium (scripts/ensure-deps.sh
 * --chromium installs it from the package manager), headless, with nothing that calls home.
 */
export const CHROMIUM_PATH = process.env.GOVSHARE_TEST_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
