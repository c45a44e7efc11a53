// A minimal time-series line chart on a canvas: enough for a few lines that
// update once a second, with no third-party code to ship or trust.

/**
 * @typedef {{ name: string, color: string, dash?: boolean, values: (number | null)[] }} Series
 * @typedef {{ times: number[], series: Series[], format: (v: number) => string, windowMs: number, minStep?: number }} ChartData
 */

const PAD = { left: 64, right: 10, top: 8, bottom: 20 };

/** Round a span to 1, 2 or 5 times a power of ten, for tick spacing. */
function niceStep(span, ticks) {
  const raw = span / ticks;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/**
 * Draw `data` into `canvas` (sized to its CSS box, sharp on HiDPI screens).
 * Gaps (null) break lines. Returns the number of points drawn, which is also
 * kept in canvas.dataset.points so tests can tell an empty chart from a live one.
 * @param {HTMLCanvasElement} canvas
 * @param {ChartData} data
 */
export function drawChart(canvas, data) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);

  let max = 0;
  let points = 0;
  for (const s of data.series) for (const v of s.values) if (v !== null && Number.isFinite(v)) max = Math.max(max, v);
  if (max === 0) max = 1;
  // No finer than the format can tell apart (else two ticks read "1 B/s").
  const step = Math.max(niceStep(max, 4), data.minStep ?? 0);
  const top = Math.ceil((max * 1.05) / step) * step;
  const now = data.times.length ? data.times[data.times.length - 1] : Date.now();
  const x0 = PAD.left;
  const x1 = w - PAD.right;
  const y0 = h - PAD.bottom;
  const y1 = PAD.top;
  const xOf = (t) => x1 - ((now - t) / data.windowMs) * (x1 - x0);
  const yOf = (v) => y0 - (v / top) * (y0 - y1);

  ctx.font = '11px system-ui, sans-serif';
  ctx.strokeStyle = '#e3e6ec';
  ctx.fillStyle = '#6b7385';
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  const labels = [];
  for (let k = 0; k * step <= top + step / 2; k++) {
    const v = k * step;
    const y = Math.round(yOf(v)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(x0, y);
    ctx.lineTo(x1, y);
    ctx.stroke();
    const text = data.format(v);
    // A label the format rounds to the previous one's text is left out rather than repeated.
    if (text === labels[labels.length - 1]) continue;
    labels.push(text);
    ctx.fillText(text, x0 - 6, y);
  }
  canvas.dataset.ticks = labels.join('|');
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (let s = 0; s < data.windowMs / 1000; s += 30) ctx.fillText(s === 0 ? 'now' : `-${s}s`, xOf(now - s * 1000), y0 + 4);

  ctx.save();
  ctx.beginPath();
  ctx.rect(x0, y1 - 2, x1 - x0, y0 - y1 + 4);
  ctx.clip();
  for (const s of data.series) {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 1.75;
    ctx.setLineDash(s.dash ? [5, 4] : []);
    ctx.beginPath();
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) {
        pen = false;
        return;
      }
      points++;
      const x = xOf(data.times[i]);
      const y = yOf(v);
      if (pen) ctx.lineTo(x, y);
      else ctx.moveTo(x, y);
      pen = true;
    });
    ctx.stroke();
  }
  ctx.restore();
  canvas.dataset.points = String(points);
  return points;
}

/** Fill a legend element with one entry per series. */
export function drawLegend(el, series) {
  el.replaceChildren(
    ...series.map((s) => {
      const span = document.createElement('span');
      const swatch = document.createElement('i');
      swatch.style.background = s.dash ? `repeating-linear-gradient(90deg, ${s.color} 0 4px, transparent 4px 7px)` : s.color;
      span.append(swatch, s.name);
      return span;
    }),
  );
}
