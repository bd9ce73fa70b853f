// The page's script and stylesheet, served by the gateway itself so a strict Content-Security-Policy
// (`script-src 'self'`, `style-src 'self'`, nothing inline) lets them run. The script only confirms and sends
// a group's DELETE with the push token typed into the page; reading the page needs no script at all.
export const pageScript = `'use strict';
document.addEventListener('submit', async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.deleteUrl) return;
  event.preventDefault();
  if (!window.confirm('Delete the group ' + form.dataset.group + ' and all its metrics?')) return;
  const token = form.elements.namedItem('token');
  const headers = token && token.value ? { authorization: 'Bearer ' + token.value } : {};
  const result = form.querySelector('.result');
  try {
    const response = await fetch(form.dataset.deleteUrl, { method: 'DELETE', headers });
    if (response.status === 202) { window.location.reload(); return; }
    const body = await response.json().catch(() => ({}));
    result.textContent = 'Not deleted (' + response.status + '): ' + ((body.error && body.error.message) || response.statusText);
  } catch (error) {
    result.textContent = 'Not deleted: ' + error;
  }
});
`;

export const pageStyles = `body{font-family:system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:1rem;color:#1d2430}
nav a{margin-right:1rem}h1{font-size:1.4rem}table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
th,td{border-bottom:1px solid #d8dde6;padding:.35rem .5rem;text-align:left;vertical-align:top}
code,pre{font-family:ui-monospace,monospace;font-size:.85rem}pre{background:#f4f6f9;padding:.5rem;overflow:auto;max-height:30rem}
details{margin:.25rem 0}summary{cursor:pointer}.label{display:inline-block;background:#e6ecf5;border-radius:3px;padding:0 .3rem;margin:0 .2rem .2rem 0}
.failed{color:#b3261e}.muted{color:#5b6472}form{display:flex;gap:.4rem;align-items:center;flex-wrap:wrap}.result{color:#b3261e}
input{width:7rem}.replicas{margin:0}
`;

export const contentSecurityPolicy =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** Linked from the page so the browser does not ask for /favicon.ico, which is outside a route prefix. */
export const pageIcon =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#e6522c"/><path d="M4 11V5h4a2 2 0 010 4H4" stroke="#fff" stroke-width="1.6" fill="none"/></svg>';
