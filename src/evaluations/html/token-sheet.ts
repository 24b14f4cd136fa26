import type { VoterGroup } from '../domain/evaluation-events';
import { formatToken } from '../domain/tokens';
import { esc } from './escape';
import { qrSvg } from './qr-svg';

export interface TokenSheetInput {
  evaluationId: string;
  title: string;
  groups: VoterGroup[];
  tokens: Record<string, string[]>;
  /** The service as voters reach it, e.g. https://docket.bureau.example */
  publicUrl: string;
}

/** The URL a slip's QR code opens: the token rides in the fragment, which browsers never send to a server or a proxy log. */
export function ballotLink(publicUrl: string, evaluationId: string, token: string): string {
  return `${publicUrl}/ballot?e=${encodeURIComponent(evaluationId)}#t=${token}`;
}

/**
 * The printable token sheet: one slip per token, grouped by voter group, each with the
 * evaluation's title, the group, a QR code that opens the ballot page with the token, and
 * the token in print for typing. Slips carry no serial number: nothing on a slip tells it
 * apart except its token.
 */
export function tokenSheetHtml(input: TokenSheetInput): string {
  const manual = `${input.publicUrl}/ballot?e=${encodeURIComponent(input.evaluationId)}`;
  const sections = input.groups
    .map((g) => {
      const slips = (input.tokens[g.id] ?? [])
        .map(
          (t) => `<div class="slip"><div class="t">${esc(input.title)}</div><div class="g">${esc(g.title.zh)} · ${esc(g.title.en)}</div>${qrSvg(ballotLink(input.publicUrl, input.evaluationId, t))}<div class="code">${esc(formatToken(t.slice(0, 16)))}<br>${esc(formatToken(t.slice(16)))}</div><div class="how">扫码投票,或打开 ${esc(manual)} 输入投票码。Scan to vote, or open the address and type the code. 每码限投一次 / one ballot per code.</div></div>`,
        )
        .join('');
      return `<section><h2>${esc(g.title.zh)} · ${esc(g.title.en)} — ${g.ballots}</h2><div class="slips">${slips}</div></section>`;
    })
    .join('');
  return `<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<title>${esc(input.title)} — 投票码 / ballot tokens</title>
<style>
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",sans-serif;margin:10mm;color:#000}
h1{font-size:16pt;margin:0 0 2mm}h2{font-size:12pt;margin:6mm 0 2mm;break-after:avoid}
.note{font-size:9pt;border:1px solid #999;padding:2mm;margin-bottom:4mm}
.slips{display:grid;grid-template-columns:repeat(3,1fr);gap:0}
.slip{border:1px dashed #777;padding:3mm;text-align:center;break-inside:avoid;page-break-inside:avoid}
.t{font-weight:bold;font-size:10pt}.g{font-size:9pt;margin-bottom:1mm}
.code{font-family:"DejaVu Sans Mono",Consolas,monospace;font-size:9pt;letter-spacing:.5pt;margin-top:1mm}
.how{font-size:6.5pt;color:#333;margin-top:1mm;word-break:break-all}
section{break-before:page}section:first-of-type{break-before:auto}
@media print{.note{display:none}}
</style></head><body>
<h1>${esc(input.title)}</h1>
<div class="note">此页仅显示一次,请立即打印,沿虚线裁开,由投票人随机抽取;不要记录谁拿到了哪一张。<br>
This sheet is shown once: print it now, cut along the dashed lines and let voters draw slips at random. Do not record who received which slip. (This note is not printed.)</div>
${sections}
</body></html>`;
}
