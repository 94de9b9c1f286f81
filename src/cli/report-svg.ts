// Small inline-SVG charts for the HTML report: no scripts, no external assets,
// so the page opens anywhere (mail attachment, CI artifact, air-gapped laptop).
// Every piece of text goes through `esc`: error messages come from remote APIs.

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const W = 640;
const H = 240;
const M = { l: 56, r: 12, t: 12, b: 40 };
const PW = W - M.l - M.r;
const PH = H - M.t - M.b;

/** Round, readable axis ticks from 0 to at least max. */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v < max + step - 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

export function fmtNum(n: number): string {
  if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(n % 1e6 === 0 ? 0 : 1) + 'M';
  if (Math.abs(n) >= 1e4) return (n / 1e3).toFixed(n % 1e3 === 0 ? 0 : 1) + 'k';
  if (Number.isInteger(n)) return String(n);
  return n.toFixed(n < 10 ? 2 : 1);
}

function frame(id: string, title: string, body: string, yTicks: number[], yMax: number, yLabel: string): string {
  const y = (v: number) => M.t + PH - (v / yMax) * PH;
  const grid = yTicks
    .map((v) => `<line x1="${M.l}" x2="${M.l + PW}" y1="${y(v)}" y2="${y(v)}" class="grid"/><text x="${M.l - 6}" y="${y(v) + 4}" text-anchor="end">${fmtNum(v)}</text>`)
    .join('');
  return `<svg class="chart" data-chart="${esc(id)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}" xmlns="http://www.w3.org/2000/svg">
<title>${esc(title)}</title>${grid}
<line x1="${M.l}" x2="${M.l}" y1="${M.t}" y2="${M.t + PH}" class="axis"/><line x1="${M.l}" x2="${M.l + PW}" y1="${M.t + PH}" y2="${M.t + PH}" class="axis"/>
<text x="14" y="${M.t + PH / 2}" transform="rotate(-90 14 ${M.t + PH / 2})" text-anchor="middle">${esc(yLabel)}</text>
${body}</svg>`;
}

function xLabels(labels: string[], xAt: (i: number) => number): string {
  if (labels.length === 0) return '';
  const every = Math.max(1, Math.ceil(labels.length / 6));
  let out = '';
  for (let i = 0; i < labels.length; i += every) out += `<text x="${xAt(i)}" y="${M.t + PH + 16}" text-anchor="middle">${esc(labels[i])}</text>`;
  return out;
}

export interface Series { name: string; color: string }

/** Bars over an ordinal axis, each stacked from `series` (values[i] belongs to series[i]). */
export function stackedBars(id: string, title: string, yLabel: string, series: Series[], points: Array<{ label: string; values: number[] }>): string {
  const totals = points.map((p) => p.values.reduce((a, b) => a + b, 0));
  const ticks = niceTicks(Math.max(0, ...totals));
  const yMax = ticks[ticks.length - 1];
  const slot = PW / Math.max(1, points.length);
  const bw = Math.max(1, slot * 0.8);
  let bars = '';
  points.forEach((p, i) => {
    let acc = 0;
    p.values.forEach((v, s) => {
      if (v <= 0) return;
      const y0 = M.t + PH - ((acc + v) / yMax) * PH;
      const h = (v / yMax) * PH;
      acc += v;
      bars += `<rect class="bar" x="${(M.l + i * slot + (slot - bw) / 2).toFixed(2)}" y="${y0.toFixed(2)}" width="${bw.toFixed(2)}" height="${h.toFixed(2)}" fill="${series[s].color}"><title>${esc(p.label)} · ${esc(series[s].name)}: ${fmtNum(v)}</title></rect>`;
    });
  });
  const labels = xLabels(points.map((p) => p.label), (i) => M.l + i * slot + slot / 2);
  const legend = series
    .map((s, i) => `<rect x="${M.l + i * 96}" y="${H - 14}" width="10" height="10" fill="${s.color}"/><text x="${M.l + i * 96 + 14}" y="${H - 5}">${esc(s.name)}</text>`)
    .join('');
  return frame(id, title, bars + labels + legend, ticks, yMax, yLabel);
}

/** A line with a shaded area over an ordinal axis. */
export function lineChart(id: string, title: string, yLabel: string, points: Array<{ label: string; value: number }>): string {
  const ticks = niceTicks(Math.max(0, ...points.map((p) => p.value)));
  const yMax = ticks[ticks.length - 1];
  const xAt = (i: number) => M.l + (points.length <= 1 ? PW / 2 : (i / (points.length - 1)) * PW);
  const yAt = (v: number) => M.t + PH - (v / yMax) * PH;
  const coords = points.map((p, i) => `${xAt(i).toFixed(2)},${yAt(p.value).toFixed(2)}`);
  const area = points.length > 0 ? `<polygon class="area" points="${xAt(0).toFixed(2)},${M.t + PH} ${coords.join(' ')} ${xAt(points.length - 1).toFixed(2)},${M.t + PH}"/>` : '';
  const line = `<polyline class="line" points="${coords.join(' ')}"/>`;
  const dots = points.map((p, i) => `<circle class="dot" cx="${xAt(i).toFixed(2)}" cy="${yAt(p.value).toFixed(2)}" r="2.5"><title>${esc(p.label)}: ${fmtNum(p.value)}</title></circle>`).join('');
  return frame(id, title, area + line + dots + xLabels(points.map((p) => p.label), xAt), ticks, yMax, yLabel);
}

/** Vertical bars, one per labelled bucket (the latency histogram). */
export function bars(id: string, title: string, yLabel: string, color: string, items: Array<{ label: string; value: number }>): string {
  return stackedBars(id, title, yLabel, [{ name: yLabel, color }], items.map((b) => ({ label: b.label, values: [b.value] })));
}

/** Horizontal bars with their labels and values, for categories (errors by class). */
export function hBars(id: string, title: string, color: string, items: Array<{ label: string; value: number }>, emptyText = 'nothing to show'): string {
  const rowH = 26;
  if (items.length === 0) {
    return `<svg class="chart" data-chart="${esc(id)}" viewBox="0 0 ${W} 48" width="${W}" height="48" role="img" aria-label="${esc(title)}" xmlns="http://www.w3.org/2000/svg"><title>${esc(title)}</title><text x="${W / 2}" y="28" text-anchor="middle" class="empty">${esc(emptyText)}</text></svg>`;
  }
  const h = Math.max(1, items.length) * rowH + 16;
  const max = Math.max(1, ...items.map((b) => b.value));
  const labelW = 150;
  const pw = W - labelW - 70;
  const body = items
    .map((b, i) => {
      const y = 8 + i * rowH;
      const w = Math.max(1, (b.value / max) * pw);
      return `<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(b.label)}</text><rect class="bar" x="${labelW}" y="${y + 3}" width="${w.toFixed(2)}" height="${rowH - 8}" fill="${color}"><title>${esc(b.label)}: ${fmtNum(b.value)}</title></rect><text x="${labelW + w + 6}" y="${y + 15}">${fmtNum(b.value)}</text>`;
    })
    .join('');
  return `<svg class="chart" data-chart="${esc(id)}" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}" role="img" aria-label="${esc(title)}" xmlns="http://www.w3.org/2000/svg"><title>${esc(title)}</title>${body}</svg>`;
}
