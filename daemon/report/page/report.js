// The report page's only script: turns the chart specs inlined by
// daemon/report/render.ts into Chart.js charts (the Chart global comes from
// the inlined UMD bundle). No network, no animation (the page is read, and
// screenshotted, as soon as it opens).
'use strict';
(function () {
  var specs = JSON.parse(document.getElementById('report-charts').textContent);

  function si(v, unit) {
    if (v === 0) return '0 ' + unit;
    var p = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k'], [1, ''], [1e-3, 'm'], [1e-6, 'µ'], [1e-9, 'n'], [1e-12, 'p']];
    var a = Math.abs(v);
    for (var i = 0; i < p.length; i++) if (a >= p[i][0] || i === p.length - 1) return Number((v / p[i][0]).toPrecision(3)) + ' ' + p[i][1] + unit;
  }
  function compact(v) {
    var a = Math.abs(v);
    if (a >= 1e9) return Number((v / 1e9).toPrecision(3)) + 'G';
    if (a >= 1e6) return Number((v / 1e6).toPrecision(3)) + 'M';
    if (a >= 1e3) return Number((v / 1e3).toPrecision(3)) + 'k';
    return String(Math.round(v));
  }
  // Axis ticks short, tooltips exact.
  var FORMATS = {
    int: { tick: compact, tip: function (v) { return Math.round(v).toLocaleString('en-US'); } },
    ratio: { tick: function (v) { return Number(v.toFixed(2)) + '×'; }, tip: function (v) { return v.toFixed(3) + '×'; } },
    percent: { tick: function (v) { return Number((v * 100).toFixed(1)) + ' %'; }, tip: function (v) { return (v * 100).toFixed(1) + ' %'; } },
    joule: { tick: function (v) { return si(v, 'J'); }, tip: function (v) { return si(v, 'J'); } },
    second: { tick: function (v) { return si(v, 's'); }, tip: function (v) { return si(v, 's'); } },
    bytes: { tick: function (v) { return si(v, 'B'); }, tip: function (v) { return Math.round(v).toLocaleString('en-US') + ' B'; } },
  };

  // A dashed line across the plot at spec.reference.value (e.g. 1×: as many bursts as raw).
  var referenceLine = {
    id: 'referenceLine',
    afterDatasetsDraw: function (chart, _args, opts) {
      if (!opts || opts.value === undefined) return;
      var horizontal = chart.options.indexAxis === 'y';
      var scale = horizontal ? chart.scales.x : chart.scales.y;
      var at = scale.getPixelForValue(opts.value);
      var area = chart.chartArea;
      if (horizontal ? at < area.left || at > area.right : at < area.top || at > area.bottom) return;
      var ctx = chart.ctx;
      ctx.save();
      ctx.strokeStyle = '#1d2330';
      ctx.lineWidth = 1;
      ctx.setLineDash([5, 4]);
      ctx.beginPath();
      if (horizontal) { ctx.moveTo(at, area.top); ctx.lineTo(at, area.bottom); } else { ctx.moveTo(area.left, at); ctx.lineTo(area.right, at); }
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = '#1d2330';
      ctx.font = '11px system-ui, sans-serif';
      if (horizontal) { var right = at > area.right - 120; ctx.textAlign = right ? 'right' : 'left'; ctx.fillText(opts.label, right ? at - 4 : at + 4, area.bottom - 4); } else { ctx.textAlign = 'right'; ctx.fillText(opts.label, area.right - 4, at - 14 < area.top ? at + 12 : at - 4); }
      ctx.restore();
    },
  };

  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", sans-serif';
  Chart.defaults.color = '#4a5266';
  Chart.defaults.animation = false;

  function config(spec) {
    var f = FORMATS[spec.valueFormat];
    var horizontal = !!spec.horizontal;
    var perBar = spec.datasets.length === 1 && spec.datasets[0].colors;
    var valueAxis = {
      type: spec.logScale ? 'logarithmic' : 'linear',
      beginAtZero: !spec.logScale,
      title: { display: true, text: spec.valueTitle },
      // Whole numbers only where the values are counts (no 0.5 bursts on the axis).
      ticks: {
        precision: spec.valueFormat === 'int' ? 0 : undefined,
        callback: function (v) {
          var x = Number(v);
          // A log axis labels 1, 2 and 5 of each decade only (its other ticks would overlap).
          if (spec.logScale) { var m = x / Math.pow(10, Math.floor(Math.log10(x) + 1e-9)); if ([1, 2, 5].indexOf(Math.round(m * 1e6) / 1e6) < 0) return ''; }
          return f.tick(x);
        },
      },
      grid: { color: '#e9ecf1' },
    };
    var categoryAxis = {
      title: { display: !!spec.categoryTitle, text: spec.categoryTitle || '' },
      grid: { display: false },
      ticks: { autoSkip: !horizontal },
    };
    var stacked = spec.datasets.some(function (d) { return d.stack !== undefined; });
    if (stacked) { valueAxis.stacked = true; categoryAxis.stacked = true; }
    return {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (d) {
          return {
            label: d.label,
            data: d.data,
            stack: d.stack,
            backgroundColor: d.colors || d.color,
            borderColor: d.color,
            borderWidth: spec.type === 'line' ? 2 : 0,
            pointRadius: 4,
            pointBackgroundColor: d.color,
            borderRadius: spec.type === 'bar' ? 2 : 0,
            maxBarThickness: 28,
            spanGaps: true,
          };
        }),
      },
      options: {
        indexAxis: horizontal ? 'y' : 'x',
        responsive: true,
        maintainAspectRatio: false,
        scales: horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis },
        plugins: {
          legend: { display: !perBar, position: 'bottom', labels: { boxWidth: 14, boxHeight: 10 } },
          tooltip: { callbacks: { label: function (c) { return c.dataset.label + ': ' + f.tip(horizontal ? c.parsed.x : c.parsed.y); } } },
          referenceLine: spec.reference || {},
        },
      },
      plugins: [referenceLine],
    };
  }

  var drawn = 0;
  specs.forEach(function (spec) {
    var canvas = document.getElementById('chart-' + spec.id);
    if (!canvas) throw new Error('no canvas for chart ' + spec.id);
    new Chart(canvas, config(spec));
    // What was plotted, for tests and for a reader of the page source.
    var points = 0;
    spec.datasets.forEach(function (d) { d.data.forEach(function (v) { if (typeof v === 'number' && isFinite(v)) points++; }); });
    canvas.dataset.points = String(points);
    drawn++;
  });
  document.body.dataset.charts = String(drawn);
})();
