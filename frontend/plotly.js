// Plotly (4.6 MB of script) is fetched from the start (index.html preloads it) but runs
// only once the page has asked the server for its first run: parsing it holds the main
// thread for a second or two, which then overlaps the server computing the first surface
// instead of delaying the requests. Draws wait for it (scheduler.js).

let resolveLoaded;
let started = false;

/** Resolves once `window.Plotly` exists. */
export const plotlyLoaded = new Promise((resolve) => (resolveLoaded = resolve));

export function plotlyReady() {
  return typeof window.Plotly !== "undefined";
}

/** Add plotly.js to the page (once); the URL is index.html's preload link. */
export function loadPlotly() {
  if (started) return plotlyLoaded;
  started = true;
  if (plotlyReady()) {
    resolveLoaded(window.Plotly);
    return plotlyLoaded;
  }
  const script = document.createElement("script");
  script.src = document.querySelector('link[rel="preload"][as="script"][href*="plotly"]').href;
  script.onload = () => resolveLoaded(window.Plotly);
  script.onerror = () => {
    started = false; // a later call tries again
    console.error(`could not load ${script.src}: the plots cannot draw`);
  };
  document.head.append(script);
  return plotlyLoaded;
}
