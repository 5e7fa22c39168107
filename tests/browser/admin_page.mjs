// Browser test of the device's HTTPS admin page, in Debian's Chromium
// driven by playwright-core (tests/integration/it_webui.sh runs it):
//
//   node admin_page.mjs <url> <initial-password> <outdir>
//
// Opens <url>/, lands on /login, logs in with the initial password, lands on
// the forced password change, tries "Password1!" and sees the rule's
// message, sets a good password, is sent to log in again, logs in and sees
// the dashboard with the device id.  Full-page screenshots of each step go
// to <outdir> (login.png, forced-change.png, refused.png, dashboard.png).
// Prints "device_id=<id>" as shown on the dashboard; exits 0 only if every
// step went as expected, 1 otherwise (2 for bad arguments), after a
// screenshot of the failing page (failure.png).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, initial, outdir] = process.argv.slice(2);
if (!base || !initial || !outdir) {
	console.error('usage: node admin_page.mjs <url> <initial-password> <outdir>');
	process.exit(2);
}
const GOOD = process.env.MM_NEW_PASSWORD || 'Orchid-Tundra-83';
const CHROMIUM = process.env.MM_CHROMIUM || '/usr/bin/chromium';
const origin = new URL(base).origin;

class Failed extends Error {}
function check(cond, what) {
	if (!cond)
		throw new Failed(what);
	console.log(`ok: ${what}`);
}

async function shot(page, name) {
	await page.screenshot({ path: join(outdir, name), fullPage: true });
	console.log(`screenshot: ${name}`);
}

async function pathOf(page) {
	const u = new URL(page.url());
	return u.pathname + u.search;
}

async function text(page, sel) {
	const l = page.locator(sel);
	return (await l.count()) > 0 ? (await l.first().innerText()).trim() : '';
}

async function submit(page, fields) {
	for (const [sel, value] of Object.entries(fields))
		await page.fill(sel, value);
	await Promise.all([
		page.waitForNavigation({ waitUntil: 'load' }),
		page.click('form button[type=submit]'),
	]);
}

mkdirSync(outdir, { recursive: true });
let browser;
let page;
let status = 1;
try {
	browser = await chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: ['--no-sandbox', '--ignore-certificate-errors'],
		timeout: 60000,
	});
	const context = await browser.newContext({
		ignoreHTTPSErrors: true,	// the device's self-signed certificate
		viewport: { width: 1000, height: 720 },
	});
	context.setDefaultTimeout(20000);
	page = await context.newPage();
	const problems = [];
	page.on('console', (m) => {
		// the refused password's page is a 422 on purpose: Chromium notes it
		if (m.type() === 'error' && !/status of 422 /.test(m.text()))
			problems.push(m.text());
	});
	page.on('pageerror', (e) => problems.push(String(e)));
	const urls = [];
	page.on('request', (r) => urls.push(r.url()));

	// 1. the first visit ends on the login page, styled (CSP lets the CSS in)
	await page.goto(`${base}/`, { waitUntil: 'load' });
	check(await pathOf(page) === '/login', `GET / lands on /login (${await pathOf(page)})`);
	check(await text(page, 'h1') === 'Log in', 'login heading');
	const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
	check(bg === 'rgb(244, 245, 247)', `stylesheet applied (body background ${bg})`);
	await shot(page, 'login.png');

	// 2. the initial password leads to the forced change
	await submit(page, { '#user': 'admin', '#password': initial });
	check(await pathOf(page) === '/password', `login with the initial password lands on /password (${await pathOf(page)})`);
	check((await text(page, '.warning')).includes('initial password'), 'the page says the initial password must be changed');
	const cookies = await context.cookies(origin);
	const ck = cookies.find((c) => c.name === '__Host-mamori');
	check(ck && ck.secure && ck.httpOnly && ck.sameSite === 'Strict' && ck.path === '/',
	    'session cookie __Host-mamori: Secure, HttpOnly, SameSite=Strict, Path=/');
	// other pages send back here until the change
	await page.goto(`${base}/users`, { waitUntil: 'load' });
	check(await pathOf(page) === '/password', '/users sends back to /password before the change');
	await shot(page, 'forced-change.png');

	// 3. a well-known default is refused with the rule's message
	await submit(page, { '#old': initial, '#new': 'Password1!', '#confirm': 'Password1!' });
	const err = await text(page, '.error');
	check(err.includes('well-known default or leaked password'), `"Password1!" refused: "${err}"`);
	check(await text(page, 'h1') === 'Change password', 'the form is shown again');
	await shot(page, 'refused.png');

	// 4. a good password is accepted; the user must log in again
	await submit(page, { '#old': initial, '#new': GOOD, '#confirm': GOOD });
	check(await pathOf(page) === '/login?changed=1', `good password accepted, sent to log in (${await pathOf(page)})`);
	check((await text(page, '.notice')).includes('Log in again'), 'the login page says so');
	check(!(await context.cookies(origin)).some((c) => c.name === '__Host-mamori'), 'the session cookie is gone');

	// 5. the new password opens the dashboard with the device id
	await submit(page, { '#user': 'admin', '#password': GOOD });
	check(await pathOf(page) === '/', `login with the new password lands on / (${await pathOf(page)})`);
	check(await text(page, 'h1') === 'Device overview', 'dashboard heading');
	const row = async (label) => text(page, `tr:has(th:text-is("${label}")) td`);
	const id = await row('Device id');
	check(/^[A-Za-z0-9._-]{4,64}$/.test(id), `device id shown: ${id}`);
	check((await row('Initial credentials')) === 'changed', 'initial credentials shown as changed');
	check((await row('Model')) !== '' && (await row('Serial number')) !== '', 'model and serial shown');
	await shot(page, 'dashboard.png');
	console.log(`device_id=${id}`);

	// no password and no token ever in a URL; no console errors (CSP)
	const leaks = urls.filter((u) => u.includes(initial) || u.includes(GOOD) ||
	    /password=|token=/i.test(u));
	check(leaks.length === 0, `no secret in any of ${urls.length} requested URLs`);
	check(problems.length === 0, `no console errors${problems.length ? ': ' + problems.join(' | ') : ''}`);
	status = 0;
} catch (e) {
	console.error(`FAIL: ${e instanceof Failed ? e.message : e.stack || e}`);
	if (page) {
		// what the browser shows at the failure, for the report
		try {
			console.error(`  at ${page.url()}: ${(await text(page, 'main')).replace(/\s+/g, ' ')}`);
			await shot(page, 'failure.png');
		} catch (e2) {
			console.error(`  (no failure screenshot: ${e2.message})`);
		}
	}
} finally {
	if (browser)
		await browser.close().catch(() => {});
}
process.exit(status);
