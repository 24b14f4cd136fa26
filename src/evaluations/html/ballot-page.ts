import type { EvaluationState } from '../domain/evaluation-state';
import { esc } from './escape';

/**
 * The page a slip's QR code opens: the evaluation's subjects and grades as a form that
 * posts {token, ratings} to POST /api/evaluations/:id/ballots. It reads the token from the
 * URL fragment (#t=…), which never reaches the server, and drops it from the address bar.
 * Nothing is loaded from elsewhere, nothing is stored in the browser.
 */
export function ballotPageHtml(state: EvaluationState, nonce: string): string {
  const open = state.status === 'open';
  const head = state.scale.map((k) => `<th>${esc(k.title.zh)}<br><small>${esc(k.title.en)}</small></th>`).join('');
  const rows = state.subjects
    .map(
      (s, i) =>
        `<tr><th scope="row">${esc(s.name)}</th>${state.scale
          .map(
            (k) =>
              `<td><label><input type="radio" name="s${i}" value="${esc(k.id)}" data-subject="${esc(s.id)}" aria-label="${esc(s.name)}: ${esc(k.title.zh)} ${esc(k.title.en)}"></label></td>`,
          )
          .join('')}</tr>`,
    )
    .join('');
  const form = open
    ? `<form id="ballot" autocomplete="off">
<p><label>投票码 / ballot code<br><input id="token" name="token" required maxlength="64" autocomplete="off" autocapitalize="characters" spellcheck="false"></label></p>
<table><thead><tr><th></th>${head}</tr></thead><tbody>${rows}</tbody></table>
<p class="hint">未选择的对象视为弃权。Subjects left blank are abstentions. 每码限投一次 / one ballot per code.</p>
<p><button type="submit">提交 / Submit</button></p>
<p id="result" role="status"></p>
</form>`
    : `<p class="closed">本次测评已结束,不再接受投票。This evaluation is closed and takes no more ballots.</p>`;
  return `<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">
<title>${esc(state.title)}</title>
<style nonce="${nonce}">
body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;max-width:50rem;margin:1rem auto;padding:0 .75rem}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #bbb;padding:.4rem;text-align:center}tbody th{text-align:left}
input[type=radio]{transform:scale(1.4)}#token{font-family:monospace;font-size:1.1rem;width:100%;max-width:26rem}
button{font-size:1.1rem;padding:.5rem 1.5rem}.hint{font-size:.85rem;color:#444}#result.ok{color:#060}#result.err{color:#a00}
</style></head><body>
<h1>${esc(state.title)}</h1>
<p>匿名投票:不记录姓名、地址或设备。Anonymous: no name, address or device is recorded.</p>
${form}
${
  open
    ? `<script nonce="${nonce}">
(function () {
  var form = document.getElementById('ballot'), tokenInput = document.getElementById('token'), result = document.getElementById('result');
  var hash = new URLSearchParams(location.hash.slice(1)), query = new URLSearchParams(location.search);
  var token = hash.get('t') || query.get('t');
  if (token) tokenInput.value = token;
  if (location.hash || query.get('t')) history.replaceState(null, '', location.pathname + '?e=' + encodeURIComponent(query.get('e') || ''));
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var ratings = {};
    form.querySelectorAll('input[type=radio]:checked').forEach(function (r) { ratings[r.getAttribute('data-subject')] = r.value; });
    if (!Object.keys(ratings).length) { result.className = 'err'; result.textContent = '请至少评价一位对象。Please rate at least one subject.'; return; }
    var button = form.querySelector('button'); button.disabled = true;
    fetch(${JSON.stringify(`/api/evaluations/${encodeURIComponent(state.id)}/ballots`).replace(/</g, '\\u003c')}, {
      method: 'POST', headers: { 'content-type': 'application/json' }, credentials: 'omit', referrerPolicy: 'no-referrer',
      body: JSON.stringify({ token: tokenInput.value, ratings: ratings })
    }).then(function (res) {
      if (res.status === 201) { result.className = 'ok'; result.textContent = '投票成功,谢谢!Your ballot was recorded. Thank you.'; form.querySelectorAll('input').forEach(function (i) { i.disabled = true; }); tokenInput.value = ''; return; }
      return res.json().then(function (p) { result.className = 'err'; result.textContent = (p && p.detail) || ('error ' + res.status); button.disabled = false; });
    }).catch(function () { result.className = 'err'; result.textContent = '网络错误,请重试。Network error, please try again.'; button.disabled = false; });
  });
})();
</script>`
    : ''
}
</body></html>`;
}

/** The Content-Security-Policy that goes with the page: nothing but its own inline style and script, and posts to this origin. */
export function ballotPageCsp(nonce: string): string {
  return `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; connect-src 'self'; img-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'`;
}
