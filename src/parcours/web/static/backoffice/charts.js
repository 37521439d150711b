// Draws every <canvas data-chart> of a back-office page with Chart.js (a classic script loaded
// before this module; the Sankey controller registers itself on it). A chart's figures come from
// the <script type="application/json"> named by data-source; the same figures are in a table on
// the page, which is what a screen reader reads (the canvas points to it with aria-describedby).

const lang = document.documentElement.lang === "en" ? "en-GB" : "fr-FR";
// French sets a no-break space before a colon.
const SEPARATOR = lang === "en-GB" ? ": " : "\u00a0: ";
const COLORS = ["#1f5f8b", "#d9822b", "#1e6b3a", "#8a4f9e", "#a3262f", "#5b6b7a"];

function formatter(kind, currency) {
  if (kind === "money") {
    const money = new Intl.NumberFormat(lang, { style: "currency", currency, maximumFractionDigits: 0 });
    return (minor) => money.format(minor / 100);
  }
  if (kind === "percent") {
    const percent = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 });
    return (share) => percent.format(share);
  }
  const number = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
  return (value) => number.format(value);
}

const dayFormat = new Intl.DateTimeFormat(lang, { day: "numeric", month: "short", timeZone: "UTC" });
// "2026-04-01" → "1 avr." in French, "1 Apr" in English.
const shortDate = (day) => dayFormat.format(new Date(`${day}T00:00:00Z`));

function seriesConfig(data, type) {
  const format = formatter(data.kind, data.currency || "EUR");
  const horizontal = Boolean(data.horizontal);
  const datasets = data.series.map((series, index) => ({
    label: series.label,
    data: series.values,
    backgroundColor: type === "doughnut" ? COLORS : COLORS[index % COLORS.length],
    borderColor: type === "line" ? COLORS[index % COLORS.length] : undefined,
    borderWidth: type === "line" ? 2 : 0,
    pointRadius: type === "line" ? 0 : undefined,
    tension: 0.2,
  }));
  const valueAxis = {
    beginAtZero: true,
    stacked: Boolean(data.stacked),
    ticks: { callback: (value) => format(value) },
  };
  const categoryAxis = { stacked: Boolean(data.stacked), ticks: { autoSkip: true, maxRotation: 0 } };
  const options = {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    indexAxis: horizontal ? "y" : "x",
    locale: lang,
    plugins: {
      legend: { display: data.series.length > 1 || type === "doughnut", position: "bottom" },
      tooltip: {
        callbacks: {
          label: (ctx) => {
            const raw = typeof ctx.raw === "number" ? ctx.raw : ctx.parsed?.[horizontal ? "x" : "y"];
            const name = type === "doughnut" ? ctx.label : ctx.dataset.label;
            return `${name}${SEPARATOR}${format(raw)}`;
          },
        },
      },
    },
  };
  if (type !== "doughnut") {
    options.scales = horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis };
  }
  const labels = data.dates ? data.labels.map(shortDate) : data.labels;
  return { type, data: { labels, datasets }, options };
}

function sankeyConfig(data) {
  const number = new Intl.NumberFormat(lang);
  const nodes = [...new Set(data.links.flatMap((link) => [link.from, link.to]))];
  const colorOf = (node) => COLORS[Math.max(nodes.indexOf(node), 0) % COLORS.length];
  return {
    type: "sankey",
    data: {
      datasets: [
        {
          data: data.links,
          colorFrom: (ctx) => colorOf(ctx.dataset.data[ctx.dataIndex]?.from),
          colorTo: (ctx) => colorOf(ctx.dataset.data[ctx.dataIndex]?.to),
          colorMode: "gradient",
          borderWidth: 0,
          nodeWidth: 12,
          size: "max",
        },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: (ctx) => {
              const link = ctx.dataset.data[ctx.dataIndex];
              return `${link.from} → ${link.to}${SEPARATOR}${number.format(link.flow)}`;
            },
          },
        },
      },
    },
  };
}

function draw(canvas) {
  const source = document.getElementById(canvas.dataset.source);
  if (!source) return;
  const data = JSON.parse(source.textContent);
  const type = canvas.dataset.chart;
  let config;
  if (type === "sankey") config = sankeyConfig(data);
  else if (type === "hbar") config = seriesConfig({ ...data, horizontal: true }, "bar");
  else config = seriesConfig(data, type);
  const chart = new window.Chart(canvas, config);
  canvas.dataset.drawn = "true";
  return chart;
}

function drawAll() {
  if (!window.Chart) {
    document.body.dataset.charts = "unavailable";
    return;
  }
  for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
    try {
      draw(canvas);
    } catch (error) {
      canvas.dataset.drawn = "failed";
      console.error("chart not drawn", error);
    }
  }
  document.body.dataset.charts = "drawn";
}

// Modules run after deferred classic scripts: Chart.js is there by now.
drawAll();
