// Export: PNG of a plot, the trajectory as JSON / CSV, a standalone HTML report, and the
// REST calls that reproduce the current run as curl or Python.
import { api } from "./api.js";
import { clear, h } from "./dom.js";
import { figureOf } from "./plots/common.js";

/** Download a plot as PNG (the plot's own size, twice the pixels). */
export function downloadPng(el, name) {
  if (!el.data) return Promise.resolve();
  return Plotly.downloadImage(el, { format: "png", filename: `gradscape-${name}`, width: el.clientWidth || 800, height: el.clientHeight || 500, scale: 2 });
}

function saveBlob(text, type, filename) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

const escapeScript = (text) => text.replace(/<\/(script)/gi, "<\\/$1");
const escapeHtml = (text) => text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

/** A single HTML file with plotly.js and every drawn figure inlined: it opens offline. */
export async function htmlReport(run, plots) {
  const plotly = await (await fetch("/vendor/plotly.min.js")).text();
  const figures = plots
    .map(({ el, title }) => ({ title, fig: figureOf(el) }))
    .filter((f) => f.fig)
    .map(({ title, fig }) => ({ title, data: fig.data, layout: { ...fig.layout, width: undefined, height: undefined, autosize: true } }));
  const info = run.info;
  const body = figures.map((f, i) => `<section><h2>${escapeHtml(f.title)}</h2><div id="fig${i}" class="fig"></div></section>`).join("\n");
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gradscape report</title>
<style>body{font:14px system-ui,sans-serif;color:#33363d;max-width:1100px;margin:24px auto;padding:0 16px}
.fig{height:420px}pre{background:#f5f6f8;padding:12px;overflow:auto;font-size:12px}section{margin-top:24px}</style>
<script>${escapeScript(plotly)}</script></head><body>
<h1>gradscape report</h1>
<p>${escapeHtml(run.label || "")}: step ${info.step}, loss ${info.loss === null ? "–" : Number(info.loss).toPrecision(5)}, status ${escapeHtml(info.status)}${info.reason ? ` (${escapeHtml(info.reason)})` : ""}. Generated ${escapeHtml(new Date().toISOString())}.</p>
<details><summary>Config and live changes (JSON: POST it to /api/sessions/import with the step to rebuild the run)</summary>
<pre>${escapeHtml(JSON.stringify({ format_version: 1, config: info.config, events: info.events, step: info.step }, null, 2))}</pre></details>
${body}
<script>const FIGS = ${escapeScript(JSON.stringify(figures))};
FIGS.forEach((f, i) => Plotly.newPlot("fig" + i, f.data, f.layout, {responsive: true, displaylogo: false}));</script>
</body></html>`;
  saveBlob(html, "text/html", `gradscape-report-${info.id.slice(0, 8)}.html`);
  return html.length;
}

/**
 * The calls that rebuild the run, in order: `{steps: n}` (a step call, at most `maxPerCall`
 * steps) or `{change}` (a live change, PATCH).
 */
function plan(info, maxPerCall) {
  const out = [];
  let at = 0;
  const stepTo = (k) => {
    while (at < k) {
      const n = Math.min(k - at, maxPerCall);
      out.push({ steps: n });
      at += n;
    }
  };
  for (const [k, change] of info.events || []) {
    stepTo(k);
    out.push({ change });
  }
  stepTo(info.step);
  return out;
}

export function curlScript(info, origin, maxPerCall) {
  const j = (o) => `'${JSON.stringify(o).replace(/'/g, "'\\''")}'`;
  const lines = [
    "# Rebuild this gradscape run over the REST API (needs curl and python3).",
    `API=${origin}/api`,
    `ID=$(curl -s -X POST "$API/sessions" -H 'content-type: application/json' -d ${j(info.config)} | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')`,
  ];
  for (const p of plan(info, maxPerCall)) {
    if (p.change) lines.push(`curl -s -X PATCH "$API/sessions/$ID" -H 'content-type: application/json' -d ${j(p.change)} > /dev/null`);
    else lines.push(`curl -s -X POST "$API/sessions/$ID/step" -H 'content-type: application/json' -d ${j({ steps: p.steps, evaluate: "last" })} > /dev/null`);
  }
  lines.push(`curl -s "$API/sessions/$ID" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["step"], s["loss"])'`);
  return lines.join("\n");
}

export function pythonScript(info, origin, maxPerCall) {
  const py = (o) => JSON.stringify(o).replace(/\bnull\b/g, "None").replace(/\btrue\b/g, "True").replace(/\bfalse\b/g, "False");
  const lines = [
    '"""Rebuild this gradscape run over the REST API."""',
    "import httpx",
    "",
    `api = httpx.Client(base_url="${origin}/api", timeout=120)`,
    `s = api.post("/sessions", json=${py(info.config)}).raise_for_status().json()`,
  ];
  for (const p of plan(info, maxPerCall)) {
    if (p.change) lines.push(`api.patch(f"/sessions/{s['id']}", json=${py(p.change)}).raise_for_status()`);
    else lines.push(`api.post(f"/sessions/{s['id']}/step", json=${py({ steps: p.steps, evaluate: "last" })}).raise_for_status()`);
  }
  lines.push(`s = api.get(f"/sessions/{s['id']}").json()`, `print(s["step"], s["loss"])`);
  return lines.join("\n");
}

export class ExportPanel {
  /** Fetch the run's config as code in `language` and show it with what it leaves out. */
  async showCode(language, show, notes) {
    const main = this.main();
    try {
      const c = await api.code(main.id, { language });
      show(c.code);
      const items = [...(c.omits || []).map((t) => `Leaves out: ${t}`), ...(c.notes || [])];
      clear(notes).append(...items.map((t) => h("li", {}, t)));
      if (c.exact) notes.prepend(h("li", {}, "Runs this config exactly: its numbers match the server's."));
    } catch (err) {
      show("");
      clear(notes).append(h("li", { class: "error" }, err.message));
    }
  }

  /** `main()`: the main run; `figures()`: [{el, title}] of the page's figures; `maxPerCall`: the server's steps per call. */
  constructor(root, { main, figures, maxPerCall }) {
    this.main = main;
    this.root = root;
    this.plots = figures;
    this.maxPerCall = maxPerCall;
  }

  render() {
    const main = this.main();
    if (!main) return;
    const code = h("textarea", { class: "code", name: "code", readonly: true, rows: 8, spellcheck: false });
    const limit = this.maxPerCall;
    const show = (text) => {
      code.value = text;
      code.hidden = false;
      copy.hidden = false;
    };
    const copy = h(
      "button",
      {
        class: "small",
        name: "copy",
        hidden: true,
        onclick: async () => {
          try {
            await navigator.clipboard.writeText(code.value);
            copy.textContent = "copied";
          } catch {
            code.select();
            copy.textContent = "press Ctrl+C";
          }
          setTimeout(() => (copy.textContent = "copy"), 1500);
        },
      },
      "copy",
    );
    code.hidden = true;
    const notes = h("ul", { class: "caption code-notes" });
    const link = (format, text) => h("a", { class: "button small", href: api.exportUrl(main.id, format), download: `gradscape-${main.id.slice(0, 8)}.${format}`, name: `export-${format}` }, text);
    clear(this.root).append(
      h("p", { class: "caption" }, "Everything here is also the REST API: the trajectory, the session's config and its live changes reproduce the run exactly."),
      h("div", { class: "panel-bar" }, [
        link("json", "Trajectory JSON"),
        link("csv", "Trajectory CSV"),
        h("button", { class: "small", name: "export-html", onclick: () => htmlReport(this.main(), this.plots()) }, "HTML report"),
        h("button", { class: "small", name: "copy-curl", onclick: () => show(curlScript(this.main().info, location.origin, limit)) }, "curl"),
        h("button", { class: "small", name: "copy-python", onclick: () => show(pythonScript(this.main().info, location.origin, limit)) }, "Python"),
        h("button", { class: "small", name: "copy-link", onclick: () => show(location.href) }, "link"),
      ]),
      h("p", { class: "caption" }, "PNG: the ⤓ button on each plot."),
      h("p", { class: "caption" }, "Code to take away: this run's config as a standalone script, the chapter's loop in plain NumPy, or PyTorch, or Keras' compile() and fit()."),
      h("div", { class: "panel-bar" }, [
        ...["numpy", "pytorch", "keras"].map((lang) =>
          h("button", { class: "small", name: `code-${lang}`, onclick: () => this.showCode(lang, show, notes) }, { numpy: "NumPy", pytorch: "PyTorch", keras: "Keras" }[lang]),
        ),
      ]),
      notes,
      code,
      copy,
    );
  }
}
